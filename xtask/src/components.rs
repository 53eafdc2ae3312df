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

pub const ELASTICSEARCH: &str = "elasticsearch";
pub const COLLECTOR: &str = "collector";
pub const ALERTMANAGER: &str = "alertmanager";
pub const PROMETHEUS: &str = "prometheus";
pub const SERVICE: &str = "service";

/// In start order; `down` walks it backwards.
pub const ALL: [&str; 5] = [ELASTICSEARCH, COLLECTOR, ALERTMANAGER, PROMETHEUS, SERVICE];

pub fn health_url(component: &str) -> String {
    match component {
        ELASTICSEARCH => format!("{}/_cluster/health", url(ports::ELASTICSEARCH)),
        COLLECTOR => format!("{}/", url(ports::COLLECTOR_HEALTH)),
        ALERTMANAGER => format!("{}/-/ready", url(ports::ALERTMANAGER)),
        PROMETHEUS => format!("{}/-/ready", url(ports::PROMETHEUS)),
        _ => format!("{}/health", url(ports::SERVICE)),
    }
}

pub fn port(component: &str) -> u16 {
    match component {
        ELASTICSEARCH => ports::ELASTICSEARCH,
        COLLECTOR => ports::OTLP_GRPC,
        ALERTMANAGER => ports::ALERTMANAGER,
        PROMETHEUS => ports::PROMETHEUS,
        _ => ports::SERVICE,
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
    component: &str,
    cmd: Command,
    fingerprint: &str,
    timeout: Duration,
) -> Result<Outcome> {
    let health = health_url(component);
    let mut outcome = Outcome::Started;
    if let Some(tracked) = process::running(layout, component) {
        if tracked.fingerprint == fingerprint && probe::is_ok(&health) {
            return Ok(Outcome::AlreadyRunning);
        }
        process::stop(layout, component, Duration::from_secs(30));
        outcome = Outcome::Restarted;
    }
    if probe::port_in_use(port(component)) {
        bail!(
            "port {} is in use by a process xtask did not start; stop it (e.g. a system {component} service) and run `cargo xtask up` again",
            port(component)
        );
    }
    let (tracked, mut child) = process::spawn(layout, component, cmd, fingerprint)?;
    wait_healthy(layout, component, &tracked, &mut child, &health, timeout)?;
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

pub fn elasticsearch_up(layout: &Layout) -> Result<Outcome> {
    let ours = elasticsearch_owned(layout).exists();
    if probe::is_ok(&health_url(ELASTICSEARCH)) {
        // Re-install the templates (idempotent) so a changed template lands.
        es_script(layout, "start")?;
        return Ok(if ours {
            Outcome::AlreadyRunning
        } else {
            Outcome::Foreign
        });
    }
    es_script(layout, "start")?;
    std::fs::create_dir_all(layout.run_dir())?;
    std::fs::write(elasticsearch_owned(layout), "started by cargo xtask up\n")?;
    Ok(Outcome::Started)
}

pub fn elasticsearch_install(layout: &Layout) -> Result<()> {
    es_script(layout, "install")
}

/// Stops Elasticsearch when `up` started it.
pub fn elasticsearch_down(layout: &Layout) -> Result<bool> {
    let owned = elasticsearch_owned(layout);
    if !owned.exists() {
        return Ok(false);
    }
    let was_up = probe::is_ok(&health_url(ELASTICSEARCH));
    es_script(layout, "stop")?;
    let _ = std::fs::remove_file(owned);
    Ok(was_up)
}

/// The server's current pid, from es.sh's own pid file.
pub fn elasticsearch_pid(layout: &Layout) -> Option<i32> {
    std::fs::read_to_string(layout.data_dir(ELASTICSEARCH).join("es.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn es_script(layout: &Layout, verb: &str) -> Result<()> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.log_file(ELASTICSEARCH))?;
    let status = Command::new(layout.repo("elastic/es.sh"))
        .arg(verb)
        .env("STACK_DIR", &layout.state)
        .env("ES_PORT", ports::ELASTICSEARCH.to_string())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running elastic/es.sh")?;
    if !status.success() {
        bail!(
            "elastic/es.sh {verb} failed; last log lines:\n{}",
            process::log_tail(layout, ELASTICSEARCH, 30)
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

pub fn collector_up(layout: &Layout, bin: &Path, config: &Path) -> Result<Outcome> {
    let storage = layout.data_dir(COLLECTOR).join("queue");
    std::fs::create_dir_all(&storage)?;
    let stamp = read(&bin.with_file_name(".build-hash")).unwrap_or_default();
    let text = read(config)?;
    let fp = fingerprint(&[
        &stamp,
        config.as_os_str().as_encoded_bytes(),
        &text,
        config_env(&String::from_utf8_lossy(&text)).as_bytes(),
    ]);
    let mut cmd = Command::new(bin);
    cmd.arg("--config").arg(config);
    cmd.env("OTELCOL_STORAGE_DIR", &storage);
    ensure_running(layout, COLLECTOR, cmd, &fp, Duration::from_secs(60))
}

/// The values of the `${env:NAME}` placeholders a Collector config reads: changing
/// one must restart the Collector like a config edit does.
fn config_env(config: &str) -> String {
    config
        .split("${env:")
        .skip(1)
        .filter_map(|rest| rest.split(['}', ':']).next())
        .map(|name| format!("{name}={};", std::env::var(name).unwrap_or_default()))
        .collect()
}

// --- Prometheus and Alertmanager: Debian packages. ---

pub fn alertmanager_up(layout: &Layout) -> Result<Outcome> {
    let config = layout.repo("prometheus/alertmanager.yml");
    let data = layout.data_dir(ALERTMANAGER);
    std::fs::create_dir_all(&data)?;
    let mut cmd = Command::new("prometheus-alertmanager");
    cmd.args(flags::alertmanager(
        &config.display().to_string(),
        &data.display().to_string(),
    ));
    let fp = fingerprint(&[&read(&config)?]);
    ensure_running(layout, ALERTMANAGER, cmd, &fp, Duration::from_secs(60))
}

pub fn prometheus_up(layout: &Layout) -> Result<Outcome> {
    let config = layout.repo("prometheus/prometheus.yml");
    let data = layout.data_dir(PROMETHEUS);
    std::fs::create_dir_all(&data)?;
    let mut cmd = Command::new("prometheus");
    cmd.args(flags::prometheus(
        &config.display().to_string(),
        &data.display().to_string(),
    ));
    let mut parts = vec![read(&config)?];
    parts.extend(
        rules_files(layout)?
            .iter()
            .map(|p| read(p))
            .collect::<Result<Vec<_>>>()?,
    );
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    ensure_running(
        layout,
        PROMETHEUS,
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

// --- The AlertingScout service, wired to the Collector. ---

pub fn service_build(layout: &Layout) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let log = std::fs::File::create(layout.log_file("service-build"))?;
    let status = Command::new(cargo)
        .current_dir(&layout.root)
        .args(["build", "--release", "--locked", "-p", "alertingscout"])
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!(
            "building the service failed:\n{}",
            process::log_tail(layout, "service-build", 30)
        );
    }
    Ok(layout.repo("target/release/alertingscout"))
}

/// The service's environment: the caller's own settings win, so any OTEL_* or
/// ALERTINGSCOUT_* variable set when running `up` reaches the service.
pub fn service_env(layout: &Layout) -> Result<Vec<(&'static str, String)>> {
    let database = layout.data_dir(SERVICE).join("alertingscout.sqlite");
    let mut defaults = flags::service_env(&database.display().to_string());
    defaults.push((admin_token::ENV, admin_token::get_or_create(layout)?));
    Ok(defaults
        .into_iter()
        .filter(|(k, _)| std::env::var_os(k).is_none())
        .collect())
}

pub fn service_up(layout: &Layout, bin: &Path) -> Result<Outcome> {
    std::fs::create_dir_all(layout.data_dir(SERVICE))?;
    let meta = std::fs::metadata(bin).with_context(|| format!("{}", bin.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let env = service_env(layout)?;
    // The caller's OTEL_* and ALERTINGSCOUT_* settings count too: changing one restarts.
    let caller =
        std::env::vars().filter(|(k, _)| k.starts_with("OTEL_") || k.starts_with("ALERTINGSCOUT_"));
    let env_text: String = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .chain(caller)
        .map(|(k, v)| format!("{k}={v};"))
        .collect();
    let fp = fingerprint(&[&mtime.to_le_bytes(), env_text.as_bytes()]);
    let mut cmd = Command::new(bin);
    cmd.envs(env);
    ensure_running(layout, SERVICE, cmd, &fp, Duration::from_secs(30))
}
