//! The stack's components: how each is prepared (installed or built), started,
//! probed and stopped. `up` runs the preparations side by side, then starts the
//! components in dependency order.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::process::{self, Tracked};
use xtask::admin_token;
use xtask::flags;
use xtask::layout::Layout;
use xtask::ports::{self, url};
use xtask::probe;
use xtask::secrets;

/// A process of the stack. Its name names its pid file, log file and data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Elasticsearch,
    Collector,
    /// `oncall serve`: Alertmanager's webhook receiver, started before Alertmanager.
    Oncall,
    Alertmanager,
    Prometheus,
    Service,
}

use Component::*;

impl Component {
    /// In start order; `down` walks it backwards.
    pub const ALL: [Component; 6] = [
        Elasticsearch,
        Collector,
        Oncall,
        Alertmanager,
        Prometheus,
        Service,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Elasticsearch => "elasticsearch",
            Collector => "collector",
            Oncall => "oncall",
            Alertmanager => "alertmanager",
            Prometheus => "prometheus",
            Service => "service",
        }
    }

    pub fn parse(name: &str) -> Option<Component> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn health_url(self) -> String {
        match self {
            Elasticsearch => format!("{}/_cluster/health", url(ports::ELASTICSEARCH)),
            Collector => format!("{}/", url(ports::COLLECTOR_HEALTH)),
            Oncall => format!("{}/health", url(ports::ONCALL)),
            Alertmanager => format!("{}/-/ready", url(ports::ALERTMANAGER)),
            Prometheus => format!("{}/-/ready", url(ports::PROMETHEUS)),
            Service => format!("{}/health", url(ports::SERVICE)),
        }
    }

    /// Whether its health probe answers 2xx; Elasticsearch is asked as
    /// elastic-admin (security is on: an anonymous probe gets 401).
    pub fn is_healthy(self, layout: &Layout) -> bool {
        match self {
            Elasticsearch => secrets::es_authorization(layout, secrets::es_users::ADMIN)
                .is_ok_and(|auth| probe::is_ok_as(&self.health_url(), &auth)),
            _ => probe::is_ok(&self.health_url()),
        }
    }

    pub fn port(self) -> u16 {
        match self {
            Elasticsearch => ports::ELASTICSEARCH,
            Collector => ports::OTLP_GRPC,
            Oncall => ports::ONCALL,
            Alertmanager => ports::ALERTMANAGER,
            Prometheus => ports::PROMETHEUS,
            Service => ports::SERVICE,
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `up` did with a component.
pub enum Outcome {
    Started,
    Restarted,
    AlreadyRunning,
    /// Healthy, but not started by xtask: left alone, and `down` leaves it too.
    Foreign,
}

impl Outcome {
    pub fn describe(&self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Restarted => "restarted (binary or config changed)",
            Outcome::AlreadyRunning => "already running",
            Outcome::Foreign => "already running, not started by xtask (left alone)",
        }
    }
}

pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Keeps a process whose fingerprint matches and answers its health probe; restarts
/// one that changed; refuses to start when a stranger holds the port.
pub fn ensure_running(
    layout: &Layout,
    component: Component,
    cmd: Command,
    fingerprint: &str,
    timeout: Duration,
) -> Result<Outcome> {
    let health = component.health_url();
    let name = component.name();
    let mut outcome = Outcome::Started;
    if let Some(tracked) = process::running(layout, name) {
        if tracked.fingerprint == fingerprint && probe::is_ok(&health) {
            return Ok(Outcome::AlreadyRunning);
        }
        process::stop(layout, name, Duration::from_secs(30));
        outcome = Outcome::Restarted;
    }
    if probe::port_in_use(component.port()) {
        bail!(
            "port {} is in use by a process xtask did not start; stop it (e.g. a system {component} service) and run `cargo xtask up` again",
            component.port()
        );
    }
    let (tracked, mut child) = process::spawn(layout, name, cmd, fingerprint)?;
    wait_healthy(layout, name, &tracked, &mut child, &health, timeout)?;
    Ok(outcome)
}

fn wait_healthy(
    layout: &Layout,
    component: &str,
    tracked: &Tracked,
    child: &mut std::process::Child,
    health: &str,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if probe::is_ok(health) {
            return Ok(());
        }
        // Our own child: try_wait is exact where /proc heuristics are not.
        if let Ok(Some(status)) = child.try_wait() {
            process::forget(layout, component);
            bail!(
                "{component} (pid {}) exited during start ({status}); last log lines:\n{}",
                tracked.pid,
                process::log_tail(layout, component, 30)
            );
        }
        if start.elapsed() > timeout {
            bail!(
                "{component} not healthy at {health} after {} s; last log lines:\n{}",
                timeout.as_secs(),
                process::log_tail(layout, component, 30)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

// --- Elasticsearch: elastic/es.sh owns install, start (with templates) and stop. ---

/// es.sh keeps the server's pid (the Collector tests restart the server, so a pid
/// copied here would go stale); xtask only notes that it started the server.
fn elasticsearch_owned(layout: &Layout) -> std::path::PathBuf {
    layout.run_dir().join("elasticsearch.owned")
}

/// How many nodes `up` asked for, when more than one (`status` compares).
pub fn elasticsearch_nodes_file(layout: &Layout) -> PathBuf {
    layout.run_dir().join("elasticsearch.nodes")
}

/// The node count `up` last asked for (1 without the file).
pub fn elasticsearch_nodes_wanted(layout: &Layout) -> u16 {
    std::fs::read_to_string(elasticsearch_nodes_file(layout))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

/// The cluster's health from the first of `nodes` nodes that answers (node 1
/// may be the one that is down), as elastic-admin.
pub fn elasticsearch_health(layout: &Layout, nodes: u16) -> Result<serde_json::Value> {
    let auth = secrets::es_authorization(layout, secrets::es_users::ADMIN)?;
    let mut last = None;
    for i in 1..=nodes.max(1) {
        let health = format!("{}/_cluster/health", url(ports::elasticsearch_node(i)));
        match probe::get_json_as(&health, &auth) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no Elasticsearch node to ask")))
}

/// `nodes` > 1 starts a cluster (elastic/es.sh ES_NODES); es.sh switches a
/// running single node to a cluster and back.
pub fn elasticsearch_up(layout: &Layout, nodes: u16) -> Result<Outcome> {
    let ours = elasticsearch_owned(layout).exists();
    std::fs::create_dir_all(layout.run_dir())?;
    if nodes > 1 {
        std::fs::write(elasticsearch_nodes_file(layout), format!("{nodes}\n"))?;
    } else {
        let _ = std::fs::remove_file(elasticsearch_nodes_file(layout));
    }
    if Elasticsearch.is_healthy(layout) {
        let running = elasticsearch_health(layout, nodes)
            .ok()
            .and_then(|h| h["number_of_nodes"].as_u64());
        // Re-install the templates (idempotent) so a changed template lands.
        es_script(layout, "start", nodes)?;
        return Ok(if running.is_some_and(|n| n != u64::from(nodes)) {
            Outcome::Restarted
        } else if ours {
            Outcome::AlreadyRunning
        } else {
            Outcome::Foreign
        });
    }
    es_script(layout, "start", nodes)?;
    std::fs::write(elasticsearch_owned(layout), "started by cargo xtask up\n")?;
    Ok(Outcome::Started)
}

pub fn elasticsearch_install(layout: &Layout) -> Result<()> {
    es_script(layout, "install", 1)
}

/// Stops Elasticsearch when `up` started it.
pub fn elasticsearch_down(layout: &Layout) -> Result<bool> {
    let owned = elasticsearch_owned(layout);
    if !owned.exists() {
        return Ok(false);
    }
    let was_up = Elasticsearch.is_healthy(layout);
    // es.sh stops every node it finds, a cluster's too.
    es_script(layout, "stop", 1)?;
    let _ = std::fs::remove_file(owned);
    let _ = std::fs::remove_file(elasticsearch_nodes_file(layout));
    Ok(was_up)
}

/// The server's current pid, from es.sh's own pid file (a cluster's node 1).
pub fn elasticsearch_pid(layout: &Layout) -> Option<i32> {
    let dir = layout.data_dir(Elasticsearch.name());
    [dir.join("es.pid"), dir.join("node-1").join("es.pid")]
        .iter()
        .find_map(|f| std::fs::read_to_string(f).ok()?.trim().parse().ok())
}

/// Runs elastic/es.sh; `nodes` > 1 sets ES_NODES (one node leaves it unset, as
/// before clusters existed).
fn es_script(layout: &Layout, verb: &str, nodes: u16) -> Result<()> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.log_file(Elasticsearch.name()))?;
    let status = Command::new(layout.repo("elastic/es.sh"))
        .arg(verb)
        .env("STACK_DIR", &layout.state)
        .env("ES_PORT", ports::ELASTICSEARCH.to_string())
        .envs((nodes > 1).then(|| ("ES_NODES", nodes.to_string())))
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running elastic/es.sh")?;
    if !status.success() {
        bail!(
            "elastic/es.sh {verb} failed; last log lines:\n{}",
            process::log_tail(layout, Elasticsearch.name(), 30)
        );
    }
    Ok(())
}

// --- The Collector: built by otel-collector/build.sh (ocb, cached by a hash stamp). ---

pub fn collector_build(layout: &Layout) -> Result<PathBuf> {
    let out = Command::new(layout.repo("otel-collector/build.sh"))
        .stderr(std::fs::File::create(layout.log_file("collector-build"))?)
        .output()
        .context("running otel-collector/build.sh")?;
    if !out.status.success() {
        bail!(
            "the Collector build failed; see {}:\n{}",
            layout.log_file("collector-build").display(),
            process::log_tail(layout, "collector-build", 30)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let bin = stdout.lines().last().unwrap_or_default().trim().to_string();
    if bin.is_empty() {
        bail!("otel-collector/build.sh printed no binary path");
    }
    Ok(PathBuf::from(bin))
}

/// `config` is "default", "swap" or a path to a Collector config file.
pub fn collector_config(layout: &Layout, config: &str) -> PathBuf {
    match config {
        "default" => layout.repo("otel-collector/config.yaml"),
        "swap" => layout.repo("otel-collector/config-swap.yaml"),
        path => PathBuf::from(path),
    }
}

pub fn collector_up(layout: &Layout, bin: &Path, config: &Path, es_nodes: u16) -> Result<Outcome> {
    let storage = layout.data_dir(Collector.name()).join("queue");
    std::fs::create_dir_all(&storage)?;
    let stamp = read(&bin.with_file_name(".build-hash")).unwrap_or_default();
    let text = read(config)?;
    let fp = fingerprint(&[
        &stamp,
        config.as_os_str().as_encoded_bytes(),
        &text,
        config_env(&String::from_utf8_lossy(&text), layout, es_nodes).as_bytes(),
    ]);
    let mut cmd = Command::new(bin);
    cmd.arg("--config").arg(config);
    cmd.env("OTELCOL_STORAGE_DIR", &storage);
    cmd.envs(collector_env(layout, es_nodes)?);
    ensure_running(layout, Collector, cmd, &fp, Duration::from_secs(60))
}

/// The exporter's Elasticsearch credentials (the config's ELASTICSEARCH_USER and
/// ELASTICSEARCH_PASSWORD placeholders): the create-only writer, unless the caller
/// set them. A cluster adds ELASTICSEARCH_ENDPOINT, every node (unless the caller
/// set it); one node leaves the config's default.
fn collector_env(layout: &Layout, es_nodes: u16) -> Result<Vec<(&'static str, String)>> {
    let user = std::env::var("ELASTICSEARCH_USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| secrets::es_users::COLLECTOR_WRITER.to_string());
    let password = match std::env::var("ELASTICSEARCH_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => secrets::es_password(layout, &user)?,
    };
    let mut env = vec![
        ("ELASTICSEARCH_USER", user),
        ("ELASTICSEARCH_PASSWORD", password),
    ];
    env.extend(cluster_endpoint(
        es_nodes,
        std::env::var("ELASTICSEARCH_ENDPOINT").ok().as_deref(),
    ));
    Ok(env)
}

/// ELASTICSEARCH_ENDPOINT for a cluster of `nodes`, unless the caller set one.
fn cluster_endpoint(nodes: u16, caller: Option<&str>) -> Option<(&'static str, String)> {
    let caller_set = caller.is_some_and(|v| !v.is_empty());
    (nodes > 1 && !caller_set).then(|| {
        (
            "ELASTICSEARCH_ENDPOINT",
            ports::elasticsearch_endpoints(nodes),
        )
    })
}

/// The values of the `${env:NAME}` placeholders a Collector config reads: changing
/// one must restart the Collector like a config edit does.
fn config_env(config: &str, layout: &Layout, es_nodes: u16) -> String {
    let ours = collector_env(layout, es_nodes).unwrap_or_default();
    config
        .split("${env:")
        .skip(1)
        .filter_map(|rest| rest.split(['}', ':']).next())
        .map(|name| {
            let value = ours
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| std::env::var(name).unwrap_or_default());
            format!("{name}={value};")
        })
        .collect()
}

// --- Prometheus and Alertmanager: Debian packages. ---

pub fn alertmanager_up(layout: &Layout) -> Result<Outcome> {
    let config = layout.repo("prometheus/alertmanager.yml");
    let data = layout.data_dir(Alertmanager.name());
    std::fs::create_dir_all(&data)?;
    let args = flags::alertmanager(&config.display().to_string(), &data.display().to_string());
    let mut cmd = Command::new("prometheus-alertmanager");
    cmd.args(&args);
    // Flags count like the config: a new flag restarts the server.
    let fp = fingerprint(&[&read(&config)?, args.join(" ").as_bytes()]);
    ensure_running(layout, Alertmanager, cmd, &fp, Duration::from_secs(60))
}

pub fn prometheus_up(layout: &Layout) -> Result<Outcome> {
    let config = layout.repo("prometheus/prometheus.yml");
    let data = layout.data_dir(Prometheus.name());
    std::fs::create_dir_all(&data)?;
    let args = flags::prometheus(&config.display().to_string(), &data.display().to_string());
    let mut cmd = Command::new("prometheus");
    cmd.args(&args);
    // Flags count like the config and rules: a new flag restarts the server.
    let mut parts = vec![read(&config)?, args.join(" ").into_bytes()];
    parts.extend(
        rules_files(layout)?
            .iter()
            .map(|p| read(p))
            .collect::<Result<Vec<_>>>()?,
    );
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    ensure_running(
        layout,
        Prometheus,
        cmd,
        &fingerprint(&refs),
        Duration::from_secs(60),
    )
}

fn rules_files(layout: &Layout) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(layout.repo("prometheus/rules"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

// --- Our Rust binaries: the service, and the on-call server. ---

/// Paths of the release binaries `up` starts.
pub struct RustBinaries {
    pub service: Option<PathBuf>,
    pub oncall: PathBuf,
}

/// One cargo invocation for both, so shared dependencies build once.
pub fn rust_build(layout: &Layout, service: bool) -> Result<RustBinaries> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let log = std::fs::File::create(layout.log_file("service-build"))?;
    let mut packages = vec!["-p", "oncall"];
    if service {
        packages.extend(["-p", "alertingscout"]);
    }
    let status = Command::new(cargo)
        .current_dir(&layout.root)
        .args(["build", "--release", "--locked"])
        .args(packages)
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!(
            "building the service and oncall failed:\n{}",
            process::log_tail(layout, "service-build", 30)
        );
    }
    Ok(RustBinaries {
        service: service.then(|| layout.repo("target/release/alertingscout")),
        oncall: layout.repo("target/release/oncall"),
    })
}

/// A binary's modification time: a rebuild restarts its process.
fn mtime(bin: &Path) -> Result<u128> {
    let meta = std::fs::metadata(bin).with_context(|| format!("{}", bin.display()))?;
    Ok(meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default())
}

/// The caller's settings with these prefixes win over the defaults (the process
/// inherits them) and count in the fingerprint: changing one restarts the process.
/// Other defaults are always set.
fn with_caller_env(
    defaults: Vec<(&'static str, String)>,
    prefixes: &[&str],
) -> (Vec<(&'static str, String)>, String) {
    let callers = |k: &str| prefixes.iter().any(|p| k.starts_with(p));
    let env: Vec<(&'static str, String)> = defaults
        .into_iter()
        .filter(|(k, _)| !(callers(k) && std::env::var_os(k).is_some()))
        .collect();
    let caller = std::env::vars().filter(|(k, _)| callers(k));
    let text = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .chain(caller)
        .map(|(k, v)| format!("{k}={v};"))
        .collect();
    (env, text)
}

/// `oncall serve`: the outbox in `.stack/oncall/`, Elasticsearch for the examples,
/// its own metrics to the Collector.
pub fn oncall_up(layout: &Layout, bin: &Path) -> Result<Outcome> {
    let dir = layout.data_dir(Oncall.name());
    std::fs::create_dir_all(&dir)?;
    let outbox = dir.join("outbox.ndjson");
    let mut defaults = flags::oncall_env(&outbox.display().to_string());
    // Each Elasticsearch user of oncall_env gets its password from .stack/secrets.
    for (user_var, password_var) in flags::ONCALL_ES_CREDENTIALS {
        if let Some((_, user)) = defaults.iter().find(|(k, _)| *k == user_var) {
            let password = secrets::es_password(layout, &user.clone())?;
            defaults.push((password_var, password));
        }
    }
    let (env, env_text) = with_caller_env(
        defaults,
        // The caller's OTEL_* settings are the service's: the relay keeps its own.
        &["ONCALL_"],
    );
    ensure_admin_operator(layout, bin, &dir.join("operators.toml"))?;
    let fp = fingerprint(&[&mtime(bin)?.to_le_bytes(), env_text.as_bytes()]);
    let mut cmd = Command::new(bin);
    cmd.arg("serve").envs(env);
    ensure_running(layout, Oncall, cmd, &fp, Duration::from_secs(30))
}

/// At the first start: the operator `admin` in `.stack/oncall/operators.toml`
/// (only its token's SHA-256), the token in `.stack/secrets/oncall-admin-token`.
fn ensure_admin_operator(layout: &Layout, bin: &Path, operators: &Path) -> Result<()> {
    if operators.exists() {
        return Ok(());
    }
    let token = secrets::get_or_create(layout, secrets::ONCALL_ADMIN_TOKEN, "ONCALL_ADMIN_TOKEN")?;
    let out = Command::new(bin)
        .current_dir(&layout.root)
        .args([
            "operators",
            "add",
            "admin",
            "--role",
            "admin",
            "--operators",
        ])
        .arg(operators)
        .env("ONCALL_NEW_TOKEN", token)
        .output()
        .context("running oncall operators add")?;
    anyhow::ensure!(
        out.status.success(),
        "creating the oncall operator admin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The service's default environment (the caller's own OTEL_* and ALERTINGSCOUT_*
/// settings win over these in `service_up`).
pub fn service_env(layout: &Layout) -> Result<Vec<(&'static str, String)>> {
    let database = layout.data_dir(Service.name()).join("alertingscout.sqlite");
    let mut defaults = flags::service_env(&database.display().to_string());
    defaults.push((admin_token::ENV, admin_token::get_or_create(layout)?));
    defaults.push((
        "ALERTINGSCOUT_PII_KEY",
        secrets::get_or_create(layout, secrets::PII_KEY, "ALERTINGSCOUT_PII_KEY")?,
    ));
    Ok(defaults)
}

pub fn service_up(layout: &Layout, bin: &Path) -> Result<Outcome> {
    std::fs::create_dir_all(layout.data_dir(Service.name()))?;
    let (env, env_text) = with_caller_env(service_env(layout)?, &["OTEL_", "ALERTINGSCOUT_"]);
    let fp = fingerprint(&[&mtime(bin)?.to_le_bytes(), env_text.as_bytes()]);
    let mut cmd = Command::new(bin);
    cmd.envs(env);
    ensure_running(layout, Service, cmd, &fp, Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::cluster_endpoint;

    #[test]
    fn one_node_leaves_the_collector_config_default() {
        assert_eq!(cluster_endpoint(1, None), None);
    }

    #[test]
    fn a_cluster_gives_the_collector_every_node() {
        assert_eq!(
            cluster_endpoint(3, None),
            Some((
                "ELASTICSEARCH_ENDPOINT",
                "http://127.0.0.1:9200,http://127.0.0.1:9201,http://127.0.0.1:9202".into()
            ))
        );
        assert!(cluster_endpoint(3, Some("")).is_some());
    }

    #[test]
    fn the_callers_endpoint_wins() {
        assert_eq!(cluster_endpoint(3, Some("http://es.example:9200")), None);
    }
}
