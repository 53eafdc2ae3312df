use super::*;

/// Equal up to floating-point rounding (1e-12 relative).
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0)
}

fn assert_close(what: &str, actual: Option<f64>, expected: Option<f64>) {
    match (actual, expected) {
        (Some(a), Some(e)) => assert!(close(a, e), "{what}: {a} != {e}"),
        (a, e) => assert_eq!(a, e, "{what}"),
    }
}

/// 500 B per log document, 400 B per span, 100 requests: 3 logs (1,500 B) and
/// 5 spans (2,000 B) per request; Prometheus 1,000 series every 5 s at 2 B/sample.
fn measured() -> Measured {
    Measured {
        from: "2026-12-01T10:00:00Z".to_owned(),
        to: "2026-12-01T11:00:00Z".to_owned(),
        window_seconds: 3600.0,
        logs_index: "logs-alertingscout-*".to_owned(),
        traces_index: "traces-alertingscout-*".to_owned(),
        logs: IndexStats {
            indices: 2,
            docs: 1000,
            store_bytes: 500_000,
        },
        traces: IndexStats {
            indices: 2,
            docs: 2000,
            store_bytes: 800_000,
        },
        window: EsWindow {
            log_docs: 300,
            span_docs: 500,
            levels: vec![
                ("WARN".to_owned(), 40),
                ("INFO".to_owned(), 240),
                ("ERROR".to_owned(), 20),
            ],
            health_docs: 60,
        },
        requests: Some(100.0),
        prometheus: Some(PromMeasured {
            head_series: Some(1000),
            series_by_route: vec![("/health".to_owned(), 12)],
            series_by_metric: vec![("up".to_owned(), 4)],
            blocks_bytes: Some(1_000_000.0),
            wal_bytes: Some(1_000_000.0),
            samples_appended: Some(1_000_000.0),
            scrape_interval_seconds: Some(5.0),
            wal_from_pages: false,
        }),
    }
}

#[test]
fn per_request_figures_and_shares() {
    let r = report(&measured());
    let es = &r.elasticsearch;
    // (what, actual, expected)
    let table: Vec<(&str, Option<f64>, Option<f64>)> = vec![
        ("log bytes/doc", es.logs.bytes_per_doc, Some(500.0)),
        ("log window bytes", es.logs.window_bytes, Some(150_000.0)),
        ("log docs/request", es.logs.docs_per_request, Some(3.0)),
        ("log bytes/request", es.logs.bytes_per_request, Some(1500.0)),
        ("span bytes/doc", es.traces.bytes_per_doc, Some(400.0)),
        ("spans/request", es.traces.docs_per_request, Some(5.0)),
        (
            "span bytes/request",
            es.traces.bytes_per_request,
            Some(2000.0),
        ),
        ("docs/request", es.docs_per_request, Some(8.0)),
        ("bytes/request", es.bytes_per_request, Some(3500.0)),
        ("health bytes", es.health_access_log.bytes, Some(30_000.0)),
        ("health share", es.health_access_log.share, Some(0.2)),
    ];
    for (what, actual, expected) in table {
        assert_close(what, actual, expected);
    }
    // Largest first.
    let levels: Vec<(&str, u64, Option<f64>, Option<f64>)> = es
        .log_levels
        .iter()
        .map(|s| (s.name.as_str(), s.docs, s.bytes, s.share))
        .collect();
    let expected = [
        ("INFO", 240, 120_000.0, 0.8),
        ("WARN", 40, 20_000.0, 40.0 / 300.0),
        ("ERROR", 20, 10_000.0, 20.0 / 300.0),
    ];
    assert_eq!(levels.len(), expected.len());
    for ((name, docs, bytes, share), (e_name, e_docs, e_bytes, e_share)) in
        levels.into_iter().zip(expected)
    {
        assert_eq!((name, docs), (e_name, e_docs));
        assert_close(name, bytes, Some(e_bytes));
        assert_close(name, share, Some(e_share));
    }
}

#[test]
fn prometheus_storage() {
    let r = report(&measured());
    let p = r.prometheus.expect("prometheus");
    assert_close("bytes/sample", p.bytes_per_sample, Some(2.0));
    assert_close("samples/day", p.samples_per_day, Some(17_280_000.0));
    assert_close("MB/day", p.mb_per_day, Some(34.56));
    assert_eq!(p.series_by_route[0].name, "/health");
    assert_eq!(p.series_by_route[0].series, 12);
}

#[test]
fn forecast_and_levers_at_each_rate() {
    let r = report(&measured());
    // rate, ES MB/day, ES 14 d, Prometheus MB/day, total MB/day, traces 10 %, /health, WARN
    let expected = [
        (
            10.0, 3024.0, 42_336.0, 34.56, 3058.56, 1555.2, 259.2, 1036.8,
        ),
        (
            100.0, 30_240.0, 423_360.0, 34.56, 30_274.56, 15_552.0, 2592.0, 10_368.0,
        ),
        (
            1000.0,
            302_400.0,
            4_233_600.0,
            34.56,
            302_434.56,
            155_520.0,
            25_920.0,
            103_680.0,
        ),
    ];
    assert_eq!(r.forecast.len(), expected.len());
    for (row, (rate, es, es14, prom, total, traces, health, warn)) in
        r.forecast.iter().zip(expected)
    {
        assert_eq!(row.requests_per_second, rate);
        let table = [
            ("ES MB/day", row.elasticsearch_mb_per_day, es),
            ("ES 14 d", row.elasticsearch_mb_14d, es14),
            ("total MB/day", row.total_mb_per_day, total),
            ("total 14 d", row.total_mb_14d, total * 14.0),
            (
                "traces 10 %",
                row.levers.sample_traces_10pct_mb_per_day,
                traces,
            ),
            (
                "/health",
                row.levers.drop_health_access_log_mb_per_day,
                health,
            ),
            ("WARN", row.levers.log_level_warn_mb_per_day, warn),
        ];
        for (what, actual, e) in table {
            assert!(close(actual, e), "{rate} rps {what}: {actual} != {e}");
        }
        assert_close("prometheus MB/day", row.prometheus_mb_per_day, Some(prom));
        assert_close("prometheus 14 d", row.prometheus_mb_14d, Some(prom * 14.0));
    }
}

#[test]
fn without_requests_there_is_no_forecast() {
    for requests in [None, Some(0.0)] {
        let mut m = measured();
        m.requests = requests;
        if requests.is_none() {
            m.prometheus = None;
        }
        let r = report(&m);
        assert!(r.forecast.is_empty(), "{requests:?}");
        assert_eq!(r.elasticsearch.bytes_per_request, None);
        assert_eq!(r.elasticsearch.logs.docs_per_request, None);
        // The window's shares do not need requests.
        assert_close(
            "health share",
            r.elasticsearch.health_access_log.share,
            Some(0.2),
        );
        assert!(r.notes.iter().any(|n| n.contains("forecast are omitted")));
    }
}

#[test]
fn levels_below_warn_match_in_any_case() {
    let mut m = measured();
    m.window.levels = vec![
        ("debug".to_owned(), 100),
        ("Info".to_owned(), 100),
        ("TRACE".to_owned(), 40),
        ("WARN".to_owned(), 40),
        ("FATAL".to_owned(), 20),
    ];
    let r = report(&m);
    // 240 of 300 documents at 500 B over 100 requests: 1,200 B/request.
    assert!(close(
        r.forecast[0].levers.log_level_warn_mb_per_day,
        1200.0 * 10.0 * 86_400.0 / 1e6
    ));
}

#[test]
fn empty_indices_give_no_ratios_rather_than_nan() {
    let m = Measured {
        requests: Some(10.0),
        ..Measured::default()
    };
    let r = report(&m);
    assert_eq!(r.elasticsearch.logs.bytes_per_doc, None);
    assert_eq!(r.elasticsearch.health_access_log.share, None);
    assert_eq!(r.elasticsearch.docs_per_request, Some(0.0));
    assert!(r.forecast.is_empty());
    assert!(r.prometheus.is_none());
    let json = serde_json::to_string(&r).expect("serializes");
    assert!(!json.contains("NaN"), "{json}");
}

#[test]
fn prometheus_without_its_own_metrics_has_no_storage_figures() {
    let mut m = measured();
    m.prometheus = Some(PromMeasured {
        head_series: Some(10),
        scrape_interval_seconds: Some(15.0),
        ..PromMeasured::default()
    });
    let r = report(&m);
    let p = r.prometheus.as_ref().expect("prometheus");
    assert_close("samples/day", p.samples_per_day, Some(57_600.0));
    assert_eq!(p.bytes_per_sample, None);
    assert_eq!(r.forecast[0].prometheus_mb_per_day, None);
    assert!(close(r.forecast[0].total_mb_per_day, 3024.0));
    assert!(r
        .notes
        .iter()
        .any(|n| n.contains("storage per day unknown")));
}

#[test]
fn an_empty_disk_is_no_bytes_per_sample_and_wal_pages_are_said() {
    let mut m = measured();
    if let Some(p) = m.prometheus.as_mut() {
        p.blocks_bytes = Some(0.0);
        p.wal_bytes = None;
    }
    assert_eq!(report(&m).prometheus.expect("p").bytes_per_sample, None);
    if let Some(p) = m.prometheus.as_mut() {
        p.wal_bytes = Some(393_216.0);
        p.samples_appended = Some(65_536.0);
        p.wal_from_pages = true;
    }
    let r = report(&m);
    assert_close(
        "bytes/sample",
        r.prometheus.expect("p").bytes_per_sample,
        Some(6.0),
    );
    assert!(r.notes.iter().any(|n| n.contains("32 KiB")));
}
