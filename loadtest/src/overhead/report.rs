//! The gate's text report, 100 columns wide. Per endpoint: each mode's median over
//! rounds, then the comparisons within rounds (lean - off, sdk - off, lean - sdk: the
//! delta's median and spread, the ratio, and lean's added cost as a share of sdk's), then
//! the budgets' verdicts. After that the records received per run, and warnings about
//! anything that makes the figures untrustworthy.

use std::fmt::Write as _;

use crate::overhead::budget::{self, BudgetVerdict};
use crate::overhead::figure::{Figure, PAIRS};
use crate::overhead::mode::Mode;
use crate::overhead::summary::{EndpointSummary, Summary};
use testkit::stats::Spread;

/// Width of the row labels ("server CPU us/request @2000/s").
const LABEL: usize = 29;

fn med(s: &Option<Spread>) -> String {
    s.map_or("-".into(), |s| fmt_num(s.median))
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn signed(v: f64) -> String {
    let s = fmt_num(v);
    if v >= 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

fn ratio(r: Option<f64>, decimals: usize) -> String {
    r.map_or("-".into(), |r| format!("{r:.decimals$}"))
}

/// A row of the report: its label and the figure.
type Row<'a> = (String, &'a Figure);

/// The figures compared within rounds, and the ones only shown per mode (they tell
/// whether the measurement can be trusted, not what telemetry costs).
fn figures(e: &EndpointSummary, rate: f64) -> ([Row<'_>; 7], [Row<'_>; 3]) {
    (
        [
            ("server CPU us/request".into(), &e.cpu_us_per_request),
            ("  serving threads".into(), &e.serving_cpu_us_per_request),
            ("  export threads".into(), &e.export_cpu_us_per_request),
            ("throughput req/s (1 core)".into(), &e.requests_per_second),
            (format!("latency p50 us @{rate:.0}/s"), &e.p50_us),
            (format!("latency p99 us @{rate:.0}/s"), &e.p99_us),
            (
                format!("server CPU us/request @{rate:.0}/s"),
                &e.fixed_rate_cpu_us_per_request,
            ),
        ],
        [
            ("server core busy %".into(), &e.server_core_share),
            (
                "other load on server core %".into(),
                &e.foreign_load_on_server_core,
            ),
            ("bench process CPU %".into(), &e.bench_cpu_share),
        ],
    )
}

fn medians(out: &mut String, modes: &[Mode], label: &str, f: &Figure) {
    let _ = write!(out, "  {label:<LABEL$}");
    for &m in modes {
        let _ = write!(out, " {:>10}", med(&f.mode(m)));
    }
    out.push('\n');
}

fn pairs(out: &mut String, label: &str, f: &Figure) {
    let mut label = label;
    for p in PAIRS {
        let Some(paired) = f.pair(p) else { continue };
        let d = paired.delta;
        let added = if p.a == Mode::Lean && p.b == Mode::Sdk {
            ratio(f.lean_over_sdk_added, 2)
        } else {
            String::new()
        };
        let line = format!(
            "  {label:<LABEL$}  {:<10} {:>9} {:>9} {:>9} {:>7} {:>15}",
            format!("{} - {}", p.a, p.b),
            signed(d.median),
            signed(d.min),
            signed(d.max),
            ratio(paired.ratio.map(|r| r.median), 3),
            added
        );
        let _ = writeln!(out, "{}", line.trim_end());
        label = "";
    }
}

fn budgets(out: &mut String, title: &str, verdicts: &[&BudgetVerdict]) {
    if verdicts.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  {title:<43} {:>9}{:5}{:>9} {:>9}",
        "median", "", "min", "max"
    );
    for v in verdicts {
        let _ = writeln!(out, "  {v}");
    }
}

fn endpoint(out: &mut String, modes: &[Mode], e: &EndpointSummary, rate: f64) {
    let _ = writeln!(
        out,
        "\n== {}  ({} rounds; per mode: median over rounds; a vs b: within each round)",
        e.endpoint, e.rounds
    );
    let _ = write!(out, "  {:<LABEL$}", "");
    for m in modes {
        let _ = write!(out, " {m:>10}");
    }
    out.push('\n');
    let (compared, context) = figures(e, rate);
    for (label, f) in compared.iter().chain(&context) {
        medians(out, modes, label, f);
    }
    if modes.len() > 1 {
        let _ = writeln!(
            out,
            "  {:<LABEL$}  {:<10} {:>9} {:>9} {:>9} {:>7} {:>15}",
            "a vs b, per round", "a - b", "median", "min", "max", "a / b", "lean/sdk added"
        );
        for (label, f) in &compared {
            pairs(out, label, f);
        }
    }
    if let (Some(sat), Some(fixed)) = (
        e.cpu_us_per_request.lean_over_sdk_added,
        e.fixed_rate_cpu_us_per_request.lean_over_sdk_added,
    ) {
        let _ = writeln!(
            out,
            "  lean/sdk added CPU = {sat:.2} at saturation, {fixed:.2} @{rate:.0}/s \
             (lean's added us/request over sdk's)"
        );
    }
    let of =
        |m: Mode| -> Vec<&BudgetVerdict> { e.budgets.iter().filter(|v| v.mode == m).collect() };
    budgets(
        out,
        "budgets: lean - off (the exit code)",
        &of(budget::JUDGED),
    );
    budgets(out, "budgets: sdk - off (information only)", &of(Mode::Sdk));
}

fn records(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "\n== telemetry records per run: requests sent vs received by the OTLP sink"
    );
    let _ = writeln!(
        out,
        "  {:>5} {:<4} {:>10} {:>10} {:>10} {:>10} {:>14} {:>13}",
        "round", "mode", "sent", "spans", "logs", "points", "dropped spans", "dropped logs"
    );
    for r in &summary.records {
        let _ = writeln!(
            out,
            "  {:>5} {:<4} {:>10} {:>10} {:>10} {:>10} {:>14} {:>13}",
            r.round + 1,
            r.mode,
            r.requests_sent,
            r.spans,
            r.log_records,
            r.metric_data_points,
            r.dropped_spans,
            r.dropped_log_records
        );
    }
    let _ = writeln!(
        out,
        "  off runs: {} records received (should be 0)",
        summary.records_while_off
    );
    let _ = writeln!(
        out,
        "  (dropped = expected - received when positive; expected: each answered request's spans\n   \
         and logs by endpoint, GET /health 1+1, POST /projects 2+2, GET /projects/{{id}} 2+1)"
    );
}

fn warnings(out: &mut String, summary: &Summary) {
    for m in [Mode::Sdk, Mode::Lean] {
        let rounds: Vec<String> = summary
            .records
            .iter()
            .filter(|r| r.mode == m && r.dropped())
            .map(|r| (r.round + 1).to_string())
            .collect();
        if !rounds.is_empty() {
            let _ = writeln!(
                out,
                "  WARNING: {m} dropped records (rounds {}): its CPU figures leave out exporting them",
                rounds.join(", ")
            );
        }
    }
    let noisy = summary.endpoints.iter().any(|e| {
        let f = &e.foreign_load_on_server_core;
        [f.off, f.sdk, f.lean]
            .into_iter()
            .flatten()
            .any(|s| s.max > 5.0)
    });
    if noisy {
        let _ = writeln!(
            out,
            "  WARNING: other processes used more than 5 % of the server core: the machine was not quiet"
        );
    }
    if summary.records_while_off > 0 {
        let _ = writeln!(
            out,
            "  WARNING: {} records arrived while OTEL_SDK_DISABLED=true",
            summary.records_while_off
        );
    }
    if summary.errors > 0 {
        let _ = writeln!(
            out,
            "  WARNING: {} non-2xx responses or transport errors (see --json)",
            summary.errors
        );
    }
}

pub fn render(summary: &Summary, rate: f64) -> String {
    let mut out = String::new();
    for e in &summary.endpoints {
        endpoint(&mut out, &summary.modes, e, rate);
    }
    records(&mut out, summary);
    warnings(&mut out, summary);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overhead::endpoint::Endpoint;
    use crate::overhead::summary::{fixtures, summarize};

    fn assert_fits(text: &str) {
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "{} columns: {line}",
                line.len()
            );
        }
    }

    #[test]
    fn three_modes_show_every_pair_the_added_share_and_both_budget_blocks() {
        let mut runs = fixtures::three_modes();
        // At the fixed rate lean adds 4.5 us to sdk's 10.
        for r in runs.iter_mut().filter(|r| r.mode == Mode::Lean) {
            r.endpoints[0].fixed_rate.server_cpu_us_per_request += 0.5;
        }
        let s = summarize(&runs, &[Endpoint::Health]);
        let text = render(&s, 2000.0);
        assert_fits(&text);
        let header = text
            .lines()
            .find(|l| l.contains(" off ") && l.contains(" sdk ") && l.contains(" lean"))
            .expect("a header with the three modes");
        assert!(
            header.find("off") < header.find("sdk") && header.find("sdk") < header.find("lean")
        );
        let cpu = text
            .lines()
            .position(|l| l.starts_with("  server CPU us/request ") && l.contains("lean - off"))
            .expect("the CPU pairs");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[cpu].contains("+4.00"), "{}", lines[cpu]);
        assert!(lines[cpu + 1].contains("sdk - off") && lines[cpu + 1].contains("+10.00"));
        assert!(lines[cpu + 2].contains("lean - sdk") && lines[cpu + 2].contains("-6.00"));
        assert!(
            lines[cpu + 2].trim_end().ends_with("0.40"),
            "{}",
            lines[cpu + 2]
        );
        // The split by thread (fixtures: 90 % serving, telemetry's 10 % exporting).
        let split = |label: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(label) && l.contains("lean - off"))
                .copied()
                .unwrap_or_default()
        };
        assert!(split("    serving threads ").contains("+3.60"), "{text}");
        assert!(split("    export threads ").contains("+2.40"), "{text}");
        assert!(text.contains("lean/sdk added CPU = 0.40 at saturation, 0.45 @2000/s"));
        assert!(text.contains("budgets: lean - off (the exit code)"));
        assert!(text.contains("budgets: sdk - off (information only)"));
        assert!(text.contains("WARNING: sdk dropped records (rounds 1, 2, 3)"));
        assert!(!text.contains("WARNING: lean dropped"));
    }

    #[test]
    fn two_modes_leave_out_what_did_not_run() {
        let mut runs = fixtures::three_modes();
        runs.retain(|r| r.mode != Mode::Sdk);
        let text = render(&summarize(&runs, &[Endpoint::Health]), 2000.0);
        assert_fits(&text);
        assert!(text.contains("lean - off"));
        assert!(!text.contains("sdk - off") && !text.contains("lean - sdk"));
        assert!(!text.contains("lean/sdk added CPU"));
        assert!(!text.contains("budgets: sdk"));
    }

    #[test]
    fn large_values_still_fit() {
        let mut runs = fixtures::three_modes();
        for (i, r) in runs.iter_mut().enumerate() {
            let e = &mut r.endpoints[0];
            e.saturation.cpu_us_per_request = 900.0 + i as f64 * 33.3;
            e.saturation.requests_per_second = 99_000.0 - i as f64 * 4321.0;
            e.fixed_rate.p50_us = 4_900.0 * (i % 3 + 1) as f64;
            e.fixed_rate.p99_us = 90_000.0 + i as f64;
        }
        let text = render(&summarize(&runs, &[Endpoint::Health]), 12_500.0);
        assert_fits(&text);
    }
}
