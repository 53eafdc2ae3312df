//! The gate's text report: one table per endpoint (off, on, delta and its spread over
//! rounds, then the budgets' verdicts), the records received, and warnings about anything
//! that makes the figures untrustworthy.

use std::fmt::Write as _;

use crate::overhead::stats::{Comparison, Spread};
use crate::overhead::summary::Summary;

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

fn row(out: &mut String, label: &str, m: &Comparison) {
    let (delta, range) = match m.delta {
        Some(d) => (
            signed(d.median),
            format!(
                "{} / {} / {}",
                signed(d.min),
                signed(d.median),
                signed(d.max)
            ),
        ),
        None => ("-".into(), "-".into()),
    };
    let _ = writeln!(
        out,
        "  {label:<26} {:>10} {:>10} {:>10}   {range}",
        med(&m.off),
        med(&m.on),
        delta
    );
}

pub fn render(summary: &Summary, rate: f64) -> String {
    let mut out = String::new();
    for e in &summary.endpoints {
        let _ = writeln!(
            out,
            "\n== {}  ({} rounds; off/on = median over rounds; delta = on - off within a round)",
            e.endpoint, e.rounds
        );
        let _ = writeln!(
            out,
            "  {:<26} {:>10} {:>10} {:>10}   delta min / median / max",
            "", "off", "on", "delta"
        );
        row(&mut out, "server CPU us/request", &e.cpu_us_per_request);
        row(
            &mut out,
            "throughput req/s (1 core)",
            &e.requests_per_second,
        );
        row(&mut out, "server core busy %", &e.server_core_share);
        row(
            &mut out,
            "other load on server core %",
            &e.foreign_load_on_server_core,
        );
        row(&mut out, "bench process CPU %", &e.bench_cpu_share);
        row(&mut out, &format!("latency p50 us @{rate:.0}/s"), &e.p50_us);
        row(&mut out, &format!("latency p99 us @{rate:.0}/s"), &e.p99_us);
        row(
            &mut out,
            &format!("server CPU us/request @{rate:.0}/s"),
            &e.fixed_rate_cpu_us_per_request,
        );
        for v in &e.budgets {
            let _ = writeln!(out, "  {v}");
        }
    }
    let _ = writeln!(
        out,
        "\n== telemetry records (on runs): requests sent vs received by the OTLP sink"
    );
    let _ = writeln!(
        out,
        "  {:>5} {:>10} {:>10} {:>10} {:>10} {:>13} {:>12}",
        "round", "sent", "spans", "logs", "points", "dropped spans", "dropped logs"
    );
    for r in &summary.records {
        let _ = writeln!(
            out,
            "  {:>5} {:>10} {:>10} {:>10} {:>10} {:>13} {:>12}",
            r.round + 1,
            r.requests_sent,
            r.spans,
            r.log_records,
            r.metric_data_points,
            r.dropped_spans,
            r.dropped_log_records
        );
    }
    let _ = writeln!(out, "  (dropped = sent - received when positive; POST adds DB child spans, so spans can exceed sent)");
    let dropped: u64 = summary
        .records
        .iter()
        .map(|r| r.dropped_spans + r.dropped_log_records)
        .sum();
    if dropped > 0 {
        let _ = writeln!(
            out,
            "  WARNING: records were dropped: the 'on' CPU figures leave out the cost of exporting them"
        );
    }
    let noisy = summary.endpoints.iter().any(|e| {
        e.foreign_load_on_server_core
            .on
            .into_iter()
            .chain(e.foreign_load_on_server_core.off)
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overhead::endpoint::Endpoint;
    use crate::overhead::load::closed::Saturation;
    use crate::overhead::load::open::FixedRate;
    use crate::overhead::mode_run::{EndpointRun, Received, Run};
    use crate::overhead::stats::spread;
    use crate::overhead::summary::summarize;

    fn run(round: usize, telemetry: bool, cpu: f64) -> Run {
        Run {
            round,
            telemetry,
            endpoints: vec![EndpointRun {
                endpoint: Endpoint::Health,
                saturation: Saturation {
                    requests: 1,
                    cpu_seconds: 0.0,
                    wall_seconds: 1.0,
                    cpu_us_per_request: cpu,
                    requests_per_second: 1e6 / cpu,
                    total_responses: 1,
                    errors: 0,
                    server_core_share: 1.0,
                    foreign_load_on_server_core: 0.0,
                    bench_cpu_share: 0.5,
                },
                fixed_rate: FixedRate {
                    rate: 2000.0,
                    scheduled: 1,
                    responses: 1,
                    errors: 0,
                    not_sent: 0,
                    p50_us: cpu * 2.0,
                    p90_us: 0.0,
                    p99_us: cpu * 10.0,
                    p999_us: 0.0,
                    max_us: 0.0,
                    send_lag_p99_us: 0.0,
                    started_behind_schedule: 0,
                    server_cpu_us_per_request: cpu,
                },
            }],
            requests_sent: 100,
            errors: 0,
            received: Received {
                spans: if telemetry { 90 } else { 0 },
                log_records: if telemetry { 120 } else { 0 },
                ..Default::default()
            },
            exit_status: "exit status: 0".into(),
            killed: false,
            shutdown_seconds: 0.1,
        }
    }

    #[test]
    fn deltas_are_paired_within_rounds() {
        // Round 0: 20 -> 26 (+6); round 1: off first, 22 -> 25 (+3); round 2: 18 -> 27 (+9).
        let runs = vec![
            run(0, true, 26.0),
            run(0, false, 20.0),
            run(1, false, 22.0),
            run(1, true, 25.0),
            run(2, true, 27.0),
            run(2, false, 18.0),
        ];
        let s = summarize(&runs, &[Endpoint::Health]);
        let cpu = &s.endpoints[0].cpu_us_per_request;
        assert_eq!(cpu.delta, spread(&[6.0, 3.0, 9.0]));
        assert_eq!(cpu.off.map(|x| x.median), Some(20.0));
        assert_eq!(cpu.on.map(|x| x.median), Some(26.0));
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.records[0].dropped_spans, 10);
        assert_eq!(s.records[0].dropped_log_records, 0);
        assert_eq!(s.records_while_off, 0);
        let text = render(&s, 2000.0);
        assert!(text.contains("server CPU us/request"));
        assert!(text.contains("ABOVE"));
    }
}
