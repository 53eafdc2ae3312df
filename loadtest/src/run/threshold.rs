//! Thresholds in k6's syntax: a metric, optionally with a route tag, and expressions.
//!
//! ```toml
//! [thresholds]
//! http_req_duration = ["p(95) < 200ms", "p(99) < 500"]      # no unit: ms, as in k6
//! http_req_failed = ["rate < 0.01"]
//! "http_req_duration{route:GET /projects/{id}}" = ["med < 50ms"]
//! checks = ["rate > 0.99"]
//! ```
//!
//! Metrics: `http_req_duration` (avg, min, med, max, p(N)), `http_req_failed` and
//! `checks` (rate), `http_reqs`, `iterations`, `dropped_iterations` and
//! `fidelity_mismatches` (count, rate per second). Operators: `<`, `<=`, `>`, `>=`, `==`,
//! `!=`. A threshold with no data to judge (e.g. a route that got no request) fails.

use std::fmt;

use serde::Serialize;

use crate::run::metrics::{RouteMetrics, RunMetrics};
use crate::run::units::parse_duration;

/// The k6 metric a threshold is on (`http_req_duration`, `checks`, ...): a name, not
/// the measurements, which are [`RunMetrics`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    HttpReqDuration,
    HttpReqFailed,
    HttpReqs,
    Checks,
    Iterations,
    DroppedIterations,
    FidelityMismatches,
}

impl MetricName {
    fn parse(name: &str) -> Result<MetricName, String> {
        Ok(match name {
            "http_req_duration" => MetricName::HttpReqDuration,
            "http_req_failed" => MetricName::HttpReqFailed,
            "http_reqs" => MetricName::HttpReqs,
            "checks" => MetricName::Checks,
            "iterations" => MetricName::Iterations,
            "dropped_iterations" => MetricName::DroppedIterations,
            "fidelity_mismatches" => MetricName::FidelityMismatches,
            other => {
                return Err(format!(
                    "unknown metric {other:?} (http_req_duration, http_req_failed, http_reqs, checks, iterations, dropped_iterations, fidelity_mismatches)"
                ))
            }
        })
    }

    fn kind(self) -> Kind {
        match self {
            MetricName::HttpReqDuration => Kind::Trend,
            MetricName::HttpReqFailed | MetricName::Checks => Kind::Rate,
            _ => Kind::Counter,
        }
    }

    fn per_route(self) -> bool {
        matches!(
            self,
            MetricName::HttpReqDuration | MetricName::HttpReqFailed | MetricName::HttpReqs
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Trend,
    Rate,
    Counter,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Avg,
    Min,
    Med,
    Max,
    /// A percentile, 0 < N <= 100.
    P(f64),
    /// Rate metrics: the share of true values; counters: per second of the run.
    Rate,
    Count,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
            Op::Ne => observed != limit,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Threshold {
    /// As written: `http_req_duration{route:GET /health}: p(95) < 200ms`.
    pub source: String,
    pub metric: MetricName,
    pub route: Option<String>,
    pub aggregation: Aggregation,
    pub op: Op,
    /// In the metric's unit: ms for durations, a fraction for rates, a number for counts.
    pub limit: f64,
}

/// `http_req_duration{route:GET /projects/{id}}` -> metric and route. The tag value may
/// itself hold braces, so the tag runs from the first `{` to the final `}`.
fn parse_key(key: &str) -> Result<(MetricName, Option<String>), String> {
    let key = key.trim();
    let Some(open) = key.find('{') else {
        return Ok((MetricName::parse(key)?, None));
    };
    let metric = MetricName::parse(key[..open].trim())?;
    let tag = key[open + 1..]
        .strip_suffix('}')
        .ok_or_else(|| format!("{key:?}: a tag must end with '}}'"))?;
    let (name, value) = tag
        .split_once(':')
        .ok_or_else(|| format!("{key:?}: a tag is {{route:METHOD /path}}"))?;
    if !matches!(name.trim(), "route" | "name") {
        return Err(format!(
            "{key:?}: unknown tag {:?} (only route is supported)",
            name.trim()
        ));
    }
    if !metric.per_route() {
        return Err(format!("{key:?}: {metric:?} has no per-route values"));
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{key:?}: empty route"));
    }
    Ok((metric, Some(value.to_owned())))
}

fn parse_aggregation(text: &str) -> Result<Aggregation, String> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix("p(").and_then(|r| r.strip_suffix(')')) {
        let p: f64 = inner
            .trim()
            .parse()
            .map_err(|_| format!("bad percentile {t:?}"))?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(format!("percentile {t:?} must be in (0, 100]"));
        }
        return Ok(Aggregation::P(p));
    }
    Ok(match t {
        "avg" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "med" => Aggregation::Med,
        "max" => Aggregation::Max,
        "rate" => Aggregation::Rate,
        "count" => Aggregation::Count,
        other => {
            return Err(format!(
                "unknown aggregation {other:?} (avg, min, med, max, p(N), rate, count)"
            ))
        }
    })
}

/// Splits `p(95) < 200ms` at its operator.
fn split_op(expr: &str) -> Result<(&str, Op, &str), String> {
    // Two-character operators first so `<=` is not read as `<`.
    for (token, op) in [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ] {
        if let Some(i) = expr.find(token) {
            return Ok((&expr[..i], op, &expr[i + token.len()..]));
        }
    }
    Err(format!("{expr:?}: no operator (<, <=, >, >=, ==, !=)"))
}

fn parse_limit(kind: Kind, agg: Aggregation, text: &str) -> Result<f64, String> {
    let t = text.trim();
    if kind == Kind::Trend {
        // k6: a bare number is milliseconds.
        if let Ok(ms) = t.parse::<f64>() {
            return Ok(ms);
        }
        return parse_duration(t).map(|d| d.as_secs_f64() * 1000.0);
    }
    let v: f64 = t.parse().map_err(|_| format!("{t:?} is not a number"))?;
    if kind == Kind::Rate && agg == Aggregation::Rate && !(0.0..=1.0).contains(&v) {
        return Err(format!("a rate is a fraction from 0 to 1, got {v}"));
    }
    Ok(v)
}

impl Threshold {
    /// One expression of one metric key, e.g. key `http_req_failed`, expr `rate < 0.01`.
    pub fn parse(key: &str, expr: &str) -> Result<Threshold, String> {
        let source = format!("{}: {}", key.trim(), expr.trim());
        let wrap = |e: String| format!("threshold {source:?}: {e}");
        let (metric, route) = parse_key(key).map_err(wrap)?;
        let (agg, op, limit) = split_op(expr).map_err(wrap)?;
        let aggregation = parse_aggregation(agg).map_err(wrap)?;
        let allowed = match metric.kind() {
            Kind::Trend => !matches!(aggregation, Aggregation::Rate | Aggregation::Count),
            Kind::Rate => aggregation == Aggregation::Rate,
            Kind::Counter => matches!(aggregation, Aggregation::Rate | Aggregation::Count),
        };
        if !allowed {
            return Err(wrap(format!(
                "{aggregation:?} does not apply to {metric:?} (durations: avg, min, med, max, p(N); http_req_failed and checks: rate; counters: count, rate)"
            )));
        }
        let limit = parse_limit(metric.kind(), aggregation, limit).map_err(wrap)?;
        Ok(Threshold {
            source,
            metric,
            route,
            aggregation,
            op,
            limit,
        })
    }

    /// The observed value, None when there is nothing to judge.
    pub fn observe(&self, m: &RunMetrics) -> Option<f64> {
        let route: Option<&RouteMetrics> = match &self.route {
            Some(r) => Some(m.routes.get(r)?),
            None => Some(&m.total),
        };
        let per_second = |count: u64| {
            if self.aggregation == Aggregation::Rate {
                (m.elapsed_s > 0.0).then(|| count as f64 / m.elapsed_s)
            } else {
                Some(count as f64)
            }
        };
        match self.metric {
            MetricName::HttpReqDuration => {
                let r = route?;
                if r.latency.is_empty() {
                    return None;
                }
                let ms = |us: f64| us / 1000.0;
                Some(match self.aggregation {
                    Aggregation::Avg => ms(r.latency.mean()),
                    Aggregation::Min => ms(r.latency.min() as f64),
                    Aggregation::Max => ms(r.latency.max() as f64),
                    Aggregation::Med => r.quantile_ms(0.5)?,
                    Aggregation::P(p) => r.quantile_ms(p / 100.0)?,
                    Aggregation::Rate | Aggregation::Count => return None,
                })
            }
            MetricName::HttpReqFailed => {
                let r = route?;
                (r.requests > 0).then(|| r.failed as f64 / r.requests as f64)
            }
            MetricName::HttpReqs => per_second(route?.requests),
            MetricName::Checks => {
                let c = m.checks_total();
                let n = c.passed + c.failed;
                (n > 0).then(|| c.passed as f64 / n as f64)
            }
            MetricName::Iterations => per_second(m.iterations),
            MetricName::DroppedIterations => per_second(m.dropped_iterations),
            MetricName::FidelityMismatches => per_second(m.fidelity_mismatches?),
        }
    }

    pub fn evaluate(&self, m: &RunMetrics) -> ThresholdVerdict {
        let observed = self.observe(m);
        ThresholdVerdict {
            threshold: self.clone(),
            observed,
            pass: observed.is_some_and(|v| self.op.holds(v, self.limit)),
        }
    }
}

/// A threshold judged against a run's measurements.
#[derive(Clone, Debug, Serialize)]
pub struct ThresholdVerdict {
    pub threshold: Threshold,
    pub observed: Option<f64>,
    pub pass: bool,
}

impl fmt::Display for ThresholdVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.pass { "✓" } else { "✗" };
        let observed = match (self.observed, self.threshold.metric.kind()) {
            (None, _) => "no data".to_owned(),
            (Some(v), Kind::Trend) => format!("{v:.3}ms"),
            (Some(v), Kind::Rate) => format!("{:.2}%", v * 100.0),
            (Some(v), Kind::Counter) => format!("{v:.2}"),
        };
        write!(f, "{mark} {}  (observed {observed})", self.threshold.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunMetrics {
        let mut m = RunMetrics {
            elapsed_s: 10.0,
            iterations: 100,
            fidelity_mismatches: Some(0),
            ..Default::default()
        };
        let mut health = RouteMetrics::default();
        // 1..=100 ms: p(95) = 95 ms, med = 50 ms; 2 failed.
        for i in 1..=100u64 {
            health.record(i * 1000, true, i <= 2);
        }
        m.total.add(&health);
        m.routes.insert("GET /health".into(), health);
        m.checks.insert(
            "c".into(),
            crate::run::metrics::CheckCount {
                passed: 99,
                failed: 1,
            },
        );
        m
    }

    type Row<'a> = (
        &'a str,
        &'a str,
        MetricName,
        Option<&'a str>,
        Aggregation,
        Op,
        f64,
    );

    #[test]
    fn parser_table() {
        let ok: &[Row] = &[
            (
                "http_req_duration",
                "p(95) < 200ms",
                MetricName::HttpReqDuration,
                None,
                Aggregation::P(95.0),
                Op::Lt,
                200.0,
            ),
            (
                "http_req_duration",
                "p(99.9)<=1s",
                MetricName::HttpReqDuration,
                None,
                Aggregation::P(99.9),
                Op::Le,
                1000.0,
            ),
            (
                "http_req_duration",
                "med<50",
                MetricName::HttpReqDuration,
                None,
                Aggregation::Med,
                Op::Lt,
                50.0,
            ),
            (
                "http_req_duration",
                "avg < 250us",
                MetricName::HttpReqDuration,
                None,
                Aggregation::Avg,
                Op::Lt,
                0.25,
            ),
            (
                "http_req_duration{route:GET /projects/{id}}",
                "max < 2s",
                MetricName::HttpReqDuration,
                Some("GET /projects/{id}"),
                Aggregation::Max,
                Op::Lt,
                2000.0,
            ),
            (
                "http_req_failed",
                "rate < 0.01",
                MetricName::HttpReqFailed,
                None,
                Aggregation::Rate,
                Op::Lt,
                0.01,
            ),
            (
                "http_req_failed{name:POST /projects}",
                "rate<=0",
                MetricName::HttpReqFailed,
                Some("POST /projects"),
                Aggregation::Rate,
                Op::Le,
                0.0,
            ),
            (
                "checks",
                "rate > 0.99",
                MetricName::Checks,
                None,
                Aggregation::Rate,
                Op::Gt,
                0.99,
            ),
            (
                "http_reqs",
                "count >= 10",
                MetricName::HttpReqs,
                None,
                Aggregation::Count,
                Op::Ge,
                10.0,
            ),
            (
                "dropped_iterations",
                "count == 0",
                MetricName::DroppedIterations,
                None,
                Aggregation::Count,
                Op::Eq,
                0.0,
            ),
            (
                "fidelity_mismatches",
                "count != 1",
                MetricName::FidelityMismatches,
                None,
                Aggregation::Count,
                Op::Ne,
                1.0,
            ),
        ];
        for (key, expr, metric, route, agg, op, limit) in ok {
            let t = Threshold::parse(key, expr).unwrap_or_else(|e| panic!("{key} {expr}: {e}"));
            assert_eq!(t.metric, *metric, "{key} {expr}");
            assert_eq!(t.route.as_deref(), *route, "{key} {expr}");
            assert_eq!(t.aggregation, *agg, "{key} {expr}");
            assert_eq!(t.op, *op, "{key} {expr}");
            assert!((t.limit - limit).abs() < 1e-9, "{key} {expr}: {}", t.limit);
        }
    }

    #[test]
    fn parser_rejects_with_the_reason() {
        let bad = [
            ("http_req_durations", "p(95)<1", "unknown metric"),
            ("http_req_duration", "p(95) 200", "no operator"),
            ("http_req_duration", "p(0) < 1", "percentile"),
            ("http_req_duration", "p(95) < fast", "fast"),
            ("http_req_duration", "rate < 1", "does not apply"),
            ("http_req_failed", "p(95) < 1", "does not apply"),
            ("http_req_failed", "rate < 5", "fraction"),
            ("checks{route:GET /health}", "rate > 0.9", "no per-route"),
            ("http_req_duration{method:GET}", "p(95) < 1", "unknown tag"),
            ("http_req_duration{route:GET /x", "p(95) < 1", "must end"),
            ("http_reqs", "count < many", "not a number"),
        ];
        for (key, expr, reason) in bad {
            let e = Threshold::parse(key, expr).unwrap_err();
            assert!(e.contains(reason), "{key} {expr}: {e}");
            assert!(e.contains(key.trim()), "error names the threshold: {e}");
        }
    }

    #[test]
    fn evaluator_table() {
        let m = run();
        let cases = [
            ("http_req_duration", "p(95) < 200ms", true),
            ("http_req_duration", "p(95) < 90ms", false),
            ("http_req_duration", "p(95) < 0.001ms", false),
            ("http_req_duration", "med <= 50.1", true),
            ("http_req_duration", "med < 49.9", false),
            ("http_req_duration", "max < 100", false),
            ("http_req_duration", "min >= 1", true),
            ("http_req_duration", "avg > 50 ", true),
            ("http_req_duration{route:GET /health}", "p(99) < 101", true),
            (
                "http_req_duration{route:GET /todos/{id}}",
                "p(99) < 1000",
                false,
            ), // no data
            ("http_req_failed", "rate < 0.01", false),
            ("http_req_failed", "rate <= 0.02", true),
            ("checks", "rate >= 0.99", true),
            ("checks", "rate > 0.99", false),
            ("http_reqs", "count == 100", true),
            ("http_reqs", "rate >= 10", true),
            ("http_reqs", "rate > 10", false),
            ("iterations", "count > 99", true),
            ("dropped_iterations", "count == 0", true),
            ("fidelity_mismatches", "count == 0", true),
        ];
        for (key, expr, want) in cases {
            let t = Threshold::parse(key, expr).unwrap();
            let o = t.evaluate(&m);
            assert_eq!(o.pass, want, "{key}: {expr} observed {:?}", o.observed);
        }
    }

    #[test]
    fn fidelity_without_a_check_has_no_data() {
        let mut m = run();
        m.fidelity_mismatches = None;
        let t = Threshold::parse("fidelity_mismatches", "count == 0").unwrap();
        assert!(!t.evaluate(&m).pass);
        m.fidelity_mismatches = Some(2);
        assert!(!t.evaluate(&m).pass);
    }
}
