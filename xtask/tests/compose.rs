//! compose.yml cannot run here (no Docker engine), so this checks what can go wrong
//! silently: every mounted file exists, and compose agrees with the native stack on
//! ports, endpoints, flags and config files. It also checks the native configs
//! against the port contract (xtask::ports).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;

use xtask::flags;
use xtask::layout::Layout;
use xtask::ports::{self, url};

fn root() -> std::path::PathBuf {
    Layout::discover().root
}

fn yaml(relative: &str) -> Value {
    let path = root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn compose() -> Value {
    yaml("compose.yml")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let s = &compose["services"][name];
    assert!(s.is_mapping(), "compose.yml has no service {name}");
    s
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn env(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_string(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// (host path, container path) of each bind mount; named volumes are skipped.
fn bind_mounts(service: &Value) -> Vec<(String, String)> {
    strings(&service["volumes"])
        .into_iter()
        .filter(|v| v.starts_with("./"))
        .map(|v| {
            let mut parts = v.splitn(3, ':');
            let host = parts.next().unwrap_or_default().to_string();
            let container = parts.next().unwrap_or_default().to_string();
            (host, container)
        })
        .collect()
}

/// The bind mount of `host` in `service`: (container path, read-only?).
fn mount_of(service: &Value, host: &str) -> Option<(String, bool)> {
    strings(&service["volumes"]).into_iter().find_map(|v| {
        let mut parts = v.splitn(3, ':');
        (parts.next() == Some(host)).then(|| {
            let container = parts.next().unwrap_or_default().to_string();
            (container, parts.next() == Some("ro"))
        })
    })
}

/// A service's entrypoint and command as one text (a list or a string each).
fn invocation(service: &Value) -> String {
    ["entrypoint", "command"]
        .iter()
        .flat_map(|key| match &service[*key] {
            Value::String(s) => vec![s.clone()],
            other => strings(other),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `${env:NAME:-default}` resolved to its default, as the Collector does when NAME is unset.
fn resolve_defaults(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find('}').expect("unclosed placeholder");
        let inner = &tail[6..end];
        out.push_str(inner.split_once(":-").map(|(_, d)| d).unwrap_or(""));
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn compose_has_the_whole_stack_on_the_host_network() {
    let c = compose();
    let names: BTreeSet<String> = c["services"]
        .as_mapping()
        .expect("services")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    for want in [
        "elasticsearch",
        "elastic-setup",
        "kibana",
        "otel-collector",
        "prometheus",
        "alertmanager",
        "grafana",
        "alertingscout",
        "oncall",
    ] {
        assert!(names.contains(want), "compose.yml lacks {want}: {names:?}");
    }
    for name in &names {
        assert_eq!(
            service(&c, name)["network_mode"].as_str(),
            Some("host"),
            "{name}: the shared configs use loopback addresses"
        );
    }
}

#[test]
fn every_mounted_file_exists_and_builds_have_their_dockerfile() {
    let c = compose();
    let root = root();
    let mut checked = 0;
    for (name, svc) in c["services"].as_mapping().expect("services") {
        for (host, _) in bind_mounts(svc) {
            assert!(root.join(&host).exists(), "{name:?} mounts missing {host}");
            checked += 1;
        }
        if svc["build"].is_mapping() {
            let context = root.join(svc["build"]["context"].as_str().unwrap_or("."));
            let dockerfile = svc["build"]["dockerfile"].as_str().unwrap_or("Dockerfile");
            assert!(
                context.join(dockerfile).is_file(),
                "{name:?}: no {dockerfile} in its context"
            );
        }
    }
    assert!(checked >= 6, "only {checked} bind mounts found");
}

#[test]
fn the_collector_runs_the_same_config_and_build_as_natively() {
    let c = compose();
    let col = service(&c, "otel-collector");
    let mounts: BTreeMap<String, String> = bind_mounts(col).into_iter().collect();
    let config = mounts
        .get("./otel-collector/config.yaml")
        .expect("compose mounts otel-collector/config.yaml");
    let command = strings(&col["command"]);
    assert!(
        command.contains(&format!("--config={config}")),
        "{command:?}"
    );
    assert!(mounts.contains_key("./otel-collector/config-swap.yaml"));
    let e = env(col);
    assert_eq!(
        e.get("ELASTICSEARCH_ENDPOINT"),
        Some(&url(ports::ELASTICSEARCH))
    );

    // The image builds with the builder version build.sh uses.
    let build_sh =
        std::fs::read_to_string(root().join("otel-collector/build.sh")).expect("build.sh");
    let version = build_sh
        .lines()
        .find_map(|l| l.strip_prefix("BUILDER_VERSION="))
        .expect("BUILDER_VERSION in build.sh");
    let dockerfile =
        std::fs::read_to_string(root().join("otel-collector/Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains(&format!("BUILDER_VERSION={version}")),
        "Dockerfile builder version differs from build.sh ({version})"
    );
    assert!(dockerfile.contains("COPY builder.yaml"));
}

#[test]
fn prometheus_and_alertmanager_get_the_native_flags_and_files() {
    let c = compose();
    let prom = service(&c, "prometheus");
    assert_eq!(
        strings(&prom["command"]),
        flags::prometheus("/etc/prometheus/prometheus.yml", "/prometheus")
    );
    assert!(bind_mounts(prom).contains(&("./prometheus".into(), "/etc/prometheus".into())));
    let am = service(&c, "alertmanager");
    assert_eq!(
        strings(&am["command"]),
        flags::alertmanager("/etc/alertmanager/alertmanager.yml", "/alertmanager")
    );
    assert!(bind_mounts(am).contains(&(
        "./prometheus/alertmanager.yml".into(),
        "/etc/alertmanager/alertmanager.yml".into()
    )));
    // Images at the versions the native stack runs (Debian's packages).
    assert_eq!(prom["image"].as_str(), Some("prom/prometheus:v2.42.0"));
    assert_eq!(am["image"].as_str(), Some("prom/alertmanager:v0.25.0"));
}

#[test]
fn the_service_and_elasticsearch_match_the_native_settings() {
    let c = compose();
    let svc = env(service(&c, "alertingscout"));
    for (key, value) in flags::service_env("/data/alertingscout.sqlite") {
        assert_eq!(svc.get(key), Some(&value), "alertingscout {key}");
    }
    let es = env(service(&c, "elasticsearch"));
    assert_eq!(es.get("http.port"), Some(&ports::ELASTICSEARCH.to_string()));
    assert_eq!(
        es.get("network.host").map(String::as_str),
        Some("127.0.0.1")
    );
    let es_image = service(&c, "elasticsearch")["image"]
        .as_str()
        .unwrap_or_default();
    let es_sh = std::fs::read_to_string(root().join("elastic/es.sh")).expect("es.sh");
    let version = es_sh
        .lines()
        .find_map(|l| l.strip_prefix("ES_VERSION="))
        .expect("ES_VERSION");
    assert!(
        es_image.ends_with(&format!(":{version}")),
        "{es_image} vs es.sh {version}"
    );
    let kibana = env(service(&c, "kibana"));
    assert!(kibana["ELASTICSEARCH_HOSTS"].contains(&url(ports::ELASTICSEARCH)));
    assert_eq!(kibana.get("SERVER_PORT"), Some(&ports::KIBANA.to_string()));
    let grafana = env(service(&c, "grafana"));
    assert_eq!(
        grafana.get("GF_SERVER_HTTP_PORT"),
        Some(&ports::GRAFANA.to_string())
    );
}

#[test]
fn the_alert_relay_matches_the_native_settings_and_alertmanager_reaches_it() {
    let c = compose();
    let relay = env(service(&c, "oncall"));
    for (key, value) in flags::oncall_env("/data/outbox.ndjson") {
        assert_eq!(relay.get(key), Some(&value), "oncall {key}");
    }
    // The caller's, empty unless set: an unset webhook means the outbox only.
    assert_eq!(
        relay.get("ONCALL_SLACK_WEBHOOK_URL").map(String::as_str),
        Some("${ONCALL_SLACK_WEBHOOK_URL:-}")
    );
    let am = yaml("prometheus/alertmanager.yml");
    let urls: Vec<String> = am["receivers"]
        .as_sequence()
        .expect("receivers")
        .iter()
        .flat_map(|r| {
            r["webhook_configs"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|w| w["url"].as_str().map(str::to_owned))
        .collect();
    assert!(!urls.is_empty(), "Alertmanager delivers nowhere");
    for u in urls {
        assert_eq!(
            u,
            format!("{}/webhook/alertmanager", url(ports::ONCALL)),
            "every receiver goes through the relay"
        );
    }
}

#[test]
fn grafana_datasources_point_at_the_stack() {
    let ds = yaml("grafana/provisioning/datasources/datasources.yml");
    let urls: Vec<(String, String)> = ds["datasources"]
        .as_sequence()
        .expect("datasources")
        .iter()
        .map(|d| {
            (
                d["type"].as_str().unwrap_or_default().to_string(),
                d["url"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        urls.contains(&("prometheus".into(), url(ports::PROMETHEUS))),
        "{urls:?}"
    );
    assert!(
        urls.contains(&("elasticsearch".into(), url(ports::ELASTICSEARCH))),
        "{urls:?}"
    );
}

#[test]
fn grafana_loads_the_dashboards_from_where_compose_mounts_them() {
    let c = compose();
    let grafana = service(&c, "grafana");
    assert_eq!(
        mount_of(grafana, "./grafana/provisioning"),
        Some(("/etc/grafana/provisioning".into(), true)),
        "grafana/provisioning mounted read-only where Grafana reads provisioning"
    );
    let (dashboards, read_only) =
        mount_of(grafana, "./grafana/dashboards").expect("compose mounts grafana/dashboards");
    assert!(read_only, "grafana/dashboards is mounted read-only");

    // The file provider (under the provisioning mount) reads the mounted folder.
    let provider = yaml("grafana/provisioning/dashboards/alertingscout.yml");
    let providers = provider["providers"].as_sequence().expect("providers");
    assert!(
        providers.iter().any(|p| p["type"].as_str() == Some("file")
            && p["options"]["path"].as_str() == Some(dashboards.as_str())),
        "no file provider reads {dashboards}: {providers:?}"
    );

    // The folder holds the dashboards whose uids alerts and docs link to.
    let mut uids = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("grafana/dashboards")).expect("grafana/dashboards") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read");
            let json: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let uid = json["uid"].as_str().expect("uid").to_string();
            assert!(uids.insert(uid.clone()), "uid {uid} twice");
        }
    }
    for want in [
        "alertingscout-api",
        "alertingscout-resources",
        "alertingscout-pipeline",
        "alertingscout-slo",
    ] {
        assert!(uids.contains(want), "no dashboard {want}: {uids:?}");
    }
}

#[test]
fn exemplars_link_to_the_provisioned_logs_datasource() {
    let ds = yaml("grafana/provisioning/datasources/datasources.yml");
    let list = ds["datasources"].as_sequence().expect("datasources");
    let uids: BTreeSet<&str> = list.iter().filter_map(|d| d["uid"].as_str()).collect();
    let prom = list
        .iter()
        .find(|d| d["uid"].as_str() == Some("prometheus"))
        .expect("prometheus datasource");
    let destinations = prom["jsonData"]["exemplarTraceIdDestinations"]
        .as_sequence()
        .expect("exemplarTraceIdDestinations");
    let internal: Vec<&str> = destinations
        .iter()
        .filter_map(|d| d["datasourceUid"].as_str())
        .collect();
    assert_eq!(internal, vec!["elasticsearch-logs"]);
    assert!(internal.iter().all(|uid| uids.contains(uid)));
    for d in destinations {
        // The Collector's prometheus exporter names the exemplar label trace_id.
        assert_eq!(d["name"].as_str(), Some("trace_id"), "{d:?}");
        if let Some(url) = d["url"].as_str() {
            assert!(url.starts_with(&ports::url(ports::KIBANA)), "{url}");
            // `$$`: Grafana expands environment variables in provisioning files.
            assert!(url.contains("$${__value.raw}"), "{url}");
        }
    }
}

#[test]
fn kibana_setup_imports_the_saved_objects_in_the_repo() {
    let c = compose();
    let kibana = service(&c, "kibana");
    assert!(
        kibana["healthcheck"]["test"].is_sequence(),
        "kibana-setup waits for a healthy Kibana: Kibana needs a healthcheck"
    );
    let setup = service(&c, "kibana-setup");
    assert_eq!(
        setup["depends_on"]["kibana"]["condition"].as_str(),
        Some("service_healthy")
    );
    let (objects, read_only) =
        mount_of(setup, "./elastic/kibana").expect("kibana-setup mounts elastic/kibana");
    assert!(read_only, "elastic/kibana is mounted read-only");
    let run = invocation(setup);
    let import = format!(
        "{}/api/saved_objects/_import?overwrite=true",
        url(ports::KIBANA)
    );
    assert!(run.contains(&import), "{run}");
    assert!(run.contains("kbn-xsrf: true"), "{run}");
    // The file it posts is the one in the repository.
    let posted = format!("file=@{objects}/");
    let at = run
        .find(&posted)
        .unwrap_or_else(|| panic!("no {posted} in {run}"));
    let name: String = run[at + posted.len()..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '\'' && *c != '"' && *c != ';')
        .collect();
    assert_eq!(name, "saved-objects.ndjson");
    assert!(root().join("elastic/kibana").join(&name).is_file());
    assert_eq!(setup["restart"].as_str(), Some("no"));
}

#[test]
fn native_configs_use_the_port_contract() {
    for file in [
        "otel-collector/config.yaml",
        "otel-collector/config-swap.yaml",
    ] {
        let cfg = yaml(file);
        let at = |v: &Value| resolve_defaults(v.as_str().unwrap_or_default());
        let recv = &cfg["receivers"]["otlp"]["protocols"];
        assert_eq!(
            at(&recv["grpc"]["endpoint"]),
            format!("127.0.0.1:{}", ports::OTLP_GRPC),
            "{file}"
        );
        assert_eq!(
            at(&recv["http"]["endpoint"]),
            format!("127.0.0.1:{}", ports::OTLP_HTTP),
            "{file}"
        );
        assert_eq!(
            at(&cfg["extensions"]["health_check"]["endpoint"]),
            format!("127.0.0.1:{}", ports::COLLECTOR_HEALTH),
            "{file}"
        );
        let own =
            &cfg["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"];
        assert_eq!(
            own["port"].as_u64(),
            Some(u64::from(ports::COLLECTOR_METRICS)),
            "{file}"
        );
        // memory_limiter first in every pipeline.
        for (name, pipeline) in cfg["service"]["pipelines"].as_mapping().expect("pipelines") {
            assert_eq!(
                strings(&pipeline["processors"]).first().map(String::as_str),
                Some("memory_limiter"),
                "{file} {name:?}"
            );
        }
    }
    let cfg = yaml("otel-collector/config.yaml");
    assert_eq!(
        resolve_defaults(
            cfg["exporters"]["prometheus"]["endpoint"]
                .as_str()
                .unwrap_or_default()
        ),
        format!("127.0.0.1:{}", ports::COLLECTOR_PROMETHEUS_EXPORTER)
    );
    // One placeholder holds every node, comma-separated (`up --es-nodes N` sets
    // it; docs/scaling.md); its default is the single node.
    let endpoints = resolve_defaults(
        cfg["exporters"]["elasticsearch"]["endpoints"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(endpoints, ports::elasticsearch_endpoints(1));
    assert_eq!(endpoints, url(ports::ELASTICSEARCH));

    let prom = yaml("prometheus/prometheus.yml");
    let mut targets = BTreeMap::new();
    for job in prom["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
    {
        let name = job["job_name"].as_str().unwrap_or_default().to_string();
        targets.insert(name, strings(&job["static_configs"][0]["targets"]));
    }
    let want = |port: u16| vec![format!("127.0.0.1:{port}")];
    assert_eq!(
        targets["otel-collector-exporter"],
        want(ports::COLLECTOR_PROMETHEUS_EXPORTER)
    );
    assert_eq!(targets["otel-collector"], want(ports::COLLECTOR_METRICS));
    assert_eq!(targets["prometheus"], want(ports::PROMETHEUS));
    assert_eq!(targets["alertmanager"], want(ports::ALERTMANAGER));
    let exporter_job = prom["scrape_configs"]
        .as_sequence()
        .and_then(|jobs| {
            jobs.iter()
                .find(|j| j["job_name"] == "otel-collector-exporter")
        })
        .expect("exporter job");
    assert_eq!(exporter_job["honor_labels"].as_bool(), Some(true));
    assert_eq!(
        strings(&prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]),
        want(ports::ALERTMANAGER)
    );
    assert!(Path::new(&root().join("prometheus/rules")).is_dir());
}

#[test]
fn placeholder_defaults_resolve() {
    let cases = [
        ("${env:A:-127.0.0.1}:4317", "127.0.0.1:4317"),
        ("${env:B}", ""),
        ("plain", "plain"),
        ("${env:C:-http://x:1}/${env:D:-y}", "http://x:1/y"),
    ];
    for (input, want) in cases {
        assert_eq!(resolve_defaults(input), want, "{input}");
    }
}

#[test]
fn elasticsearch_security_is_on_with_the_native_users_and_secrets() {
    use xtask::secrets::{es_password_env, es_users};
    let c = compose();
    let es_service = service(&c, "elasticsearch");
    let es = env(es_service);
    assert_eq!(
        es.get("xpack.security.enabled").map(String::as_str),
        Some("true")
    );
    // Every user of elastic/users.txt gets its password from compose.env (made by
    // `cargo xtask secrets`), never a literal in the file.
    for user in es_users::ALL {
        let var = es_password_env(user);
        let value = es
            .get(&var)
            .unwrap_or_else(|| panic!("elasticsearch lacks {var}"));
        assert!(value.starts_with(&format!("${{{var}:?")), "{var}: {value}");
    }
    assert_eq!(
        mount_of(es_service, "./elastic"),
        Some(("/opt/alertingscout/elastic".into(), true))
    );
    assert!(invocation(es_service).contains("es.sh users"));
    // Each client logs in as its own user, with that user's password.
    let logs_in = |svc: &str, user_key: &str, password_key: &str, user: &str| {
        let e = env(service(&c, svc));
        assert_eq!(e.get(user_key).map(String::as_str), Some(user), "{svc}");
        let password = e.get(password_key).cloned().unwrap_or_default();
        assert!(
            password.starts_with(&format!("${{{}:?", es_password_env(user))),
            "{svc} {password_key}: {password}"
        );
    };
    logs_in(
        "otel-collector",
        "ELASTICSEARCH_USER",
        "ELASTICSEARCH_PASSWORD",
        es_users::COLLECTOR_WRITER,
    );
    logs_in(
        "kibana",
        "ELASTICSEARCH_USERNAME",
        "ELASTICSEARCH_PASSWORD",
        es_users::KIBANA_SYSTEM,
    );
    for (user_key, password_key) in flags::ONCALL_ES_CREDENTIALS {
        let user = flags::oncall_env("/data/outbox.ndjson")
            .into_iter()
            .find(|(k, _)| *k == user_key)
            .map(|(_, v)| v)
            .expect("oncall_env names the user");
        logs_in("oncall", user_key, password_key, &user);
    }
    // Grafana's datasources log in as grafana-reader with the variable compose sets.
    let grafana = env(service(&c, "grafana"));
    let var = es_password_env(es_users::GRAFANA_READER);
    assert!(grafana.contains_key(&var), "grafana lacks {var}");
    let ds = yaml("grafana/provisioning/datasources/datasources.yml");
    for d in ds["datasources"].as_sequence().expect("datasources") {
        if d["type"].as_str() == Some("elasticsearch") {
            assert_eq!(d["basicAuth"].as_bool(), Some(true));
            assert_eq!(d["basicAuthUser"].as_str(), Some(es_users::GRAFANA_READER));
            assert_eq!(
                d["secureJsonData"]["basicAuthPassword"].as_str(),
                Some(format!("${var}").as_str())
            );
        }
    }
    // The setup containers authenticate as elastic-admin.
    for svc in ["elastic-setup", "kibana-setup"] {
        let e = env(service(&c, svc));
        assert!(
            e.contains_key(&es_password_env(es_users::ADMIN)),
            "{svc} has no admin password"
        );
    }
    assert!(invocation(service(&c, "kibana-setup"))
        .contains("-u \"elastic-admin:$$ES_PASSWORD_ELASTIC_ADMIN\""));
}
