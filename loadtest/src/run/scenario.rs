//! Scenario files (`loadtest/scenarios/*.toml`): an executor with its stages, the request
//! mix, the user pool and the thresholds. Field names follow k6's options
//! (`preAllocatedVUs`, `timeUnit`, `startRate`, `gracefulStop`, ...).
//!
//! ```toml
//! name = "average-load"
//! [executor]
//! type = "ramping-arrival-rate"   # constant-arrival-rate, constant-vus, ramping-vus
//! startRate = 0
//! timeUnit = "1s"
//! preAllocatedVUs = 50
//! stages = [{ duration = "30s", target = 100 }, { duration = "2m", target = 100 }]
//! [mix]
//! "POST /projects" = 10
//! "GET /projects/{id}" = 30
//! [users]
//! pool = 20
//! [thresholds]
//! http_req_duration = ["p(95) < 200ms"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::run::mix::Action;
use crate::run::threshold::Threshold;
use crate::run::units::parse_duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    executor: RawExecutor,
    mix: BTreeMap<String, u32>,
    #[serde(default)]
    users: RawUsers,
    #[serde(default)]
    thresholds: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    options: RawOptions,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUsers {
    pool: Option<usize>,
    prefix: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawOptions {
    /// Per-request timeout.
    timeout: Option<String>,
    /// Compare request counts with the service's own (default true).
    fidelity: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    duration: String,
    target: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    #[serde(rename = "type")]
    kind: String,
    rate: Option<f64>,
    #[serde(rename = "startRate")]
    start_rate: Option<f64>,
    #[serde(rename = "timeUnit")]
    time_unit: Option<String>,
    #[serde(rename = "preAllocatedVUs")]
    pre_allocated_vus: Option<usize>,
    vus: Option<usize>,
    #[serde(rename = "startVUs")]
    start_vus: Option<usize>,
    duration: Option<String>,
    stages: Option<Vec<RawStage>>,
    #[serde(rename = "gracefulStop")]
    graceful_stop: Option<String>,
}

/// A stage: reach `target` (requests per second, or users) linearly over `duration`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Executor {
    /// Open model: iterations start on schedule whatever the server does; `vus` users
    /// carry them out. constant-arrival-rate is one flat stage.
    ArrivalRate {
        /// Iterations per second at t = 0.
        start_rate: f64,
        stages: Vec<Stage>,
        vus: usize,
    },
    /// Closed model: users loop, each starting its next iteration when the previous one
    /// ends. constant-vus is a jump to `vus` held for the duration.
    Vus {
        start_vus: usize,
        stages: Vec<Stage>,
    },
}

impl Executor {
    pub fn duration(&self) -> Duration {
        let stages = match self {
            Executor::ArrivalRate { stages, .. } | Executor::Vus { stages, .. } => stages,
        };
        stages.iter().map(|s| s.duration).sum()
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The executor type as written (k6's name).
    pub executor_type: String,
    pub executor: Executor,
    pub graceful_stop: Duration,
    pub mix: Vec<(Action, u32)>,
    pub user_ids: Vec<String>,
    pub thresholds: Vec<Threshold>,
    pub timeout: Duration,
    pub fidelity: bool,
}

fn field<T>(value: Option<T>, name: &str) -> anyhow::Result<T> {
    value.with_context(|| format!("executor.{name} is required for this executor type"))
}

fn duration_field(text: &str, name: &str) -> anyhow::Result<Duration> {
    parse_duration(text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

fn stages(raw: Option<Vec<RawStage>>, per_second: f64) -> anyhow::Result<Vec<Stage>> {
    let raw = field(raw, "stages")?;
    anyhow::ensure!(!raw.is_empty(), "executor.stages is empty");
    raw.into_iter()
        .enumerate()
        .map(|(i, s)| {
            anyhow::ensure!(
                s.target.is_finite() && s.target >= 0.0,
                "executor.stages[{i}].target must be a non-negative number"
            );
            Ok(Stage {
                duration: duration_field(&s.duration, &format!("executor.stages[{i}].duration"))?,
                target: s.target * per_second,
            })
        })
        .collect()
}

fn executor(raw: RawExecutor) -> anyhow::Result<(String, Executor, Duration)> {
    let graceful_stop = match &raw.graceful_stop {
        Some(t) => duration_field(t, "executor.gracefulStop")?,
        None => Duration::from_secs(30), // k6's default
    };
    let per_second = match &raw.time_unit {
        Some(t) => {
            let unit = duration_field(t, "executor.timeUnit")?;
            anyhow::ensure!(!unit.is_zero(), "executor.timeUnit must be positive");
            1.0 / unit.as_secs_f64()
        }
        None => 1.0,
    };
    let positive_rate = |v: f64, name: &str| -> anyhow::Result<f64> {
        anyhow::ensure!(
            v.is_finite() && v >= 0.0,
            "executor.{name} must be a non-negative number"
        );
        Ok(v * per_second)
    };
    let exec = match raw.kind.as_str() {
        "constant-arrival-rate" => {
            let rate = positive_rate(field(raw.rate, "rate")?, "rate")?;
            anyhow::ensure!(rate > 0.0, "executor.rate must be positive");
            Executor::ArrivalRate {
                start_rate: rate,
                stages: vec![Stage {
                    duration: duration_field(&field(raw.duration, "duration")?, "executor.duration")?,
                    target: rate,
                }],
                vus: field(raw.pre_allocated_vus, "preAllocatedVUs")?,
            }
        }
        "ramping-arrival-rate" => Executor::ArrivalRate {
            start_rate: positive_rate(raw.start_rate.unwrap_or(0.0), "startRate")?,
            stages: stages(raw.stages, per_second)?,
            vus: field(raw.pre_allocated_vus, "preAllocatedVUs")?,
        },
        "constant-vus" => {
            let vus = field(raw.vus, "vus")?;
            Executor::Vus {
                start_vus: vus,
                stages: vec![Stage {
                    duration: duration_field(&field(raw.duration, "duration")?, "executor.duration")?,
                    target: vus as f64,
                }],
            }
        }
        "ramping-vus" => Executor::Vus {
            start_vus: raw.start_vus.unwrap_or(0),
            stages: stages(raw.stages, 1.0)?,
        },
        other => anyhow::bail!(
            "executor.type {other:?} is not one of constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus"
        ),
    };
    match &exec {
        Executor::ArrivalRate { vus, .. } => {
            anyhow::ensure!(*vus > 0, "executor.preAllocatedVUs must be at least 1")
        }
        Executor::Vus { start_vus, stages } => anyhow::ensure!(
            *start_vus > 0 || stages.iter().any(|s| s.target >= 1.0),
            "executor: no stage has a user"
        ),
    }
    anyhow::ensure!(
        !exec.duration().is_zero(),
        "executor: the stages last no time"
    );
    Ok((raw.kind, exec, graceful_stop))
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading scenario {}", path.display()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        Scenario::parse(&text, &stem).with_context(|| format!("scenario {}", path.display()))
    }

    pub fn parse(text: &str, default_name: &str) -> anyhow::Result<Scenario> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (executor_type, executor, graceful_stop) = executor(raw.executor)?;
        let mut mix = Vec::new();
        for (route, weight) in raw.mix {
            let action: Action = route.parse().map_err(|e| anyhow::anyhow!("mix: {e}"))?;
            if weight > 0 {
                mix.push((action, weight));
            }
        }
        anyhow::ensure!(
            !mix.is_empty(),
            "mix: give at least one route a weight above 0"
        );
        let pool = raw.users.pool.unwrap_or(10);
        anyhow::ensure!(pool > 0, "users.pool must be at least 1");
        let prefix = raw.users.prefix.unwrap_or_else(|| "loadtest-user".into());
        let user_ids = (1..=pool).map(|i| format!("{prefix}-{i:03}")).collect();
        let mut thresholds = Vec::new();
        for (key, exprs) in raw.thresholds {
            let exprs = match exprs {
                OneOrMany::One(e) => vec![e],
                OneOrMany::Many(v) => v,
            };
            for expr in exprs {
                thresholds.push(
                    Threshold::parse(&key, &expr)
                        .map_err(|e| anyhow::anyhow!("thresholds: {e}"))?,
                );
            }
        }
        let timeout = match &raw.options.timeout {
            Some(t) => duration_field(t, "options.timeout")?,
            None => Duration::from_secs(10),
        };
        Ok(Scenario {
            name: raw.name.unwrap_or_else(|| default_name.to_owned()),
            description: raw.description.unwrap_or_default(),
            executor_type,
            executor,
            graceful_stop,
            mix,
            user_ids,
            thresholds,
            timeout,
            fidelity: raw.options.fidelity.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIX: &str = "[mix]\n\"POST /projects\" = 1\n\"GET /health\" = 2\n";

    fn parse(executor: &str, rest: &str) -> anyhow::Result<Scenario> {
        Scenario::parse(&format!("[executor]\n{executor}\n{MIX}{rest}"), "t")
    }

    #[test]
    fn executors_table() {
        let s = parse(
            "type = \"constant-arrival-rate\"\nrate = 120\ntimeUnit = \"1m\"\nduration = \"30s\"\npreAllocatedVUs = 5",
            "",
        )
        .unwrap();
        assert_eq!(
            s.executor,
            Executor::ArrivalRate {
                start_rate: 2.0,
                stages: vec![Stage {
                    duration: Duration::from_secs(30),
                    target: 2.0
                }],
                vus: 5
            }
        );
        assert_eq!(s.graceful_stop, Duration::from_secs(30));
        assert_eq!(s.name, "t");
        let s = parse(
            "type = \"ramping-arrival-rate\"\npreAllocatedVUs = 5\ngracefulStop = \"2s\"\nstages = [{duration = \"10s\", target = 50}, {duration = \"1m\", target = 50}]",
            "",
        )
        .unwrap();
        assert_eq!(s.executor.duration(), Duration::from_secs(70));
        assert_eq!(s.graceful_stop, Duration::from_secs(2));
        let s = parse("type = \"constant-vus\"\nvus = 4\nduration = \"5s\"", "").unwrap();
        assert_eq!(
            s.executor,
            Executor::Vus {
                start_vus: 4,
                stages: vec![Stage {
                    duration: Duration::from_secs(5),
                    target: 4.0
                }]
            }
        );
        let s = parse(
            "type = \"ramping-vus\"\nstages = [{duration = \"5s\", target = 3}]",
            "",
        )
        .unwrap();
        assert!(matches!(s.executor, Executor::Vus { start_vus: 0, .. }));
    }

    #[test]
    fn mix_users_and_thresholds() {
        let s = parse(
            "type = \"constant-vus\"\nvus = 1\nduration = \"1s\"",
            "[users]\npool = 3\nprefix = \"u\"\n[thresholds]\nhttp_req_failed = \"rate < 0.01\"\n\"http_req_duration{route:GET /health}\" = [\"p(95) < 200ms\", \"max < 1s\"]\n",
        )
        .unwrap();
        assert_eq!(s.mix, vec![(Action::Health, 2), (Action::CreateProject, 1)]);
        assert_eq!(s.user_ids, vec!["u-001", "u-002", "u-003"]);
        assert_eq!(s.thresholds.len(), 3);
        assert!(s.fidelity);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "type = \"constant-arrival-rate\"\nduration = \"1s\"\npreAllocatedVUs = 1",
                "",
                "executor.rate",
            ),
            (
                "type = \"constant-arrival-rate\"\nrate = 1\nduration = \"1\"\npreAllocatedVUs = 1",
                "",
                "executor.duration",
            ),
            (
                "type = \"constant-arrival-rate\"\nrate = 1\nduration = \"1s\"",
                "",
                "executor.preAllocatedVUs",
            ),
            ("type = \"shared-iterations\"", "", "executor.type"),
            (
                "type = \"ramping-vus\"\nstages = [{duration = \"5x\", target = 3}]",
                "",
                "executor.stages[0].duration",
            ),
            (
                "type = \"ramping-vus\"\nstages = [{duration = \"5s\", target = -1}]",
                "",
                "executor.stages[0].target",
            ),
            (
                "type = \"constant-vus\"\nvus = 1\nduration = \"1s\"\nrat = 3",
                "",
                "rat",
            ),
            (
                "type = \"constant-vus\"\nvus = 1\nduration = \"1s\"",
                "[thresholds]\nhttp_req_duration = \"p95 < 1\"\n",
                "thresholds",
            ),
            (
                "type = \"constant-vus\"\nvus = 1\nduration = \"1s\"",
                "[users]\npool = 0\n",
                "users.pool",
            ),
            (
                "type = \"constant-vus\"\nvus = 1\nduration = \"1s\"",
                "[options]\ntimeout = \"soon\"\n",
                "options.timeout",
            ),
        ];
        for (executor, rest, field) in cases {
            let e = format!("{:#}", parse(executor, rest).unwrap_err());
            assert!(e.contains(field), "{field}: {e}");
        }
        let e = format!(
            "{:#}",
            Scenario::parse("[executor]\ntype = \"constant-vus\"\nvus = 1\nduration = \"1s\"\n[mix]\n\"GET /nope\" = 1\n", "t").unwrap_err()
        );
        assert!(e.contains("mix") && e.contains("GET /nope"), "{e}");
    }

    #[test]
    fn shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
            assert!(!s.thresholds.is_empty(), "{}", path.display());
            names.push(s.name);
        }
        names.sort();
        assert_eq!(
            names,
            [
                "alert-drill",
                "average-load",
                "reliability",
                "smoke",
                "soak",
                "spike",
                "stress"
            ]
        );
    }
}
