//! `oncall snapshot` against the real stack (`cargo xtask up` first): traffic
//! at the service, Prometheus waited on until it has counted it, the real
//! binary renders the provisioned API dashboard, and headless Chromium
//! screenshots the page, which must not be blank. Missing servers or a missing
//! Chromium fail the test; nothing is skipped.
#![cfg(feature = "stack-tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oncall::dashboards::{self, DatasourceKind};
use oncall::prometheus::Prometheus;

const SERVICE: &str = "http://127.0.0.1:8080";
const PROMETHEUS: &str = "http://127.0.0.1:9090";
const DASHBOARD: &str = "alertingscout-api";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds oncall/")
        .to_owned()
}

/// `http_server_request_duration_seconds_count` of one route, summed (0 before its first request).
async fn count(prometheus: &Prometheus, route: &str) -> f64 {
    let query = format!(
        "sum(http_server_request_duration_seconds_count{{job=\"alertingscout\", http_route=\"{route}\"}})"
    );
    match prometheus.query(&query, chrono::Utc::now()).await {
        Ok(data) => data
            .into_series()
            .first()
            .and_then(|s| s.samples.first())
            .map(|s| s.v)
            .unwrap_or(0.0),
        Err(e) => panic!("{e}"),
    }
}

async fn require(client: &reqwest::Client, name: &str, url: &str) {
    let ok = client
        .get(url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    assert!(
        ok,
        "{name} is not running ({url}): run `cargo xtask up` first"
    );
}

fn require_chromium() {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "chromium is not installed: apt-get install -y chromium (the Debian package)"
    );
}

/// Drives the traffic and waits until Prometheus has counted all of it.
async fn traffic_counted(prometheus: &Prometheus) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    require(&client, "the service", &format!("{SERVICE}/health")).await;
    require(&client, "Prometheus", &format!("{PROMETHEUS}/-/ready")).await;

    let health_before = count(prometheus, "/health").await;
    let projects_before = count(prometheus, "/projects").await;
    for _ in 0..200 {
        let r = client
            .get(format!("{SERVICE}/health"))
            .send()
            .await
            .expect("GET /health");
        assert!(r.status().is_success(), "GET /health: {}", r.status());
    }
    for i in 0..10 {
        let r = client
            .post(format!("{SERVICE}/projects"))
            .header("x-user-id", "snapshot-test")
            .json(&serde_json::json!({"name": format!("snapshot test {i}")}))
            .send()
            .await
            .expect("POST /projects");
        assert_eq!(r.status().as_u16(), 201, "POST /projects");
        let r = client
            .get(format!("{SERVICE}/projects"))
            .header("x-user-id", "snapshot-test")
            .send()
            .await
            .expect("GET /projects");
        assert!(r.status().is_success(), "GET /projects: {}", r.status());
    }

    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    loop {
        let health = count(prometheus, "/health").await - health_before;
        let projects = count(prometheus, "/projects").await - projects_before;
        if health >= 200.0 && projects >= 20.0 {
            eprintln!(
                "Prometheus counted the traffic after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus counted {health} of 200 GET /health and {projects} of 20 /projects within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The `<section>` of panel `id`: (its data-status, its HTML).
fn section(html: &str, id: u64) -> (String, String) {
    let marker = format!("data-panel-id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("panel {id} is missing from the page"));
    let start = html[..at].rfind("<section").expect("a section opens it");
    let end = at + html[at..].find("</section>").expect("the section closes");
    let body = html[start..end].to_owned();
    let status = body
        .split("data-status=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a data-status")
        .to_owned();
    (status, body)
}

/// Runs Chromium with a deadline: a hung browser fails the test instead of hanging it.
fn screenshot(html: &Path, png: &Path, profile: &Path) {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,1800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium (apt-get install -y chromium)");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium exited with {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish the screenshot within 120 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct PixelStats {
    total: usize,
    /// Not the page's most common colour (a blank page is one colour).
    drawn: usize,
    /// Text and axes: a channel below 128.
    dark: usize,
    colours: usize,
    /// The palette's first colour, #73BF69, with anti-aliasing slack: chart lines.
    green: usize,
}

fn pixel_stats(png_path: &Path) -> PixelStats {
    let file = std::fs::File::open(png_path).expect("the screenshot exists");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "colour screenshot, got {:?}",
        info.color_type
    );
    let mut histogram: std::collections::HashMap<(u8, u8, u8), usize> = Default::default();
    let (mut dark, mut green) = (0, 0);
    for px in buf[..info.buffer_size()].chunks_exact(channels) {
        let (r, g, b) = (px[0], px[1], px[2]);
        *histogram.entry((r, g, b)).or_default() += 1;
        if r < 128 || g < 128 || b < 128 {
            dark += 1;
        }
        if r.abs_diff(0x73) < 24 && g.abs_diff(0xBF) < 24 && b.abs_diff(0x69) < 24 {
            green += 1;
        }
    }
    let total: usize = histogram.values().sum();
    let dominant = histogram.values().copied().max().unwrap_or(0);
    PixelStats {
        total,
        drawn: total - dominant,
        dark,
        colours: histogram.len(),
        green,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_dashboard_snapshot_renders_every_panel_and_screenshots() {
    require_chromium();
    let prometheus =
        Prometheus::new(PROMETHEUS.parse().expect("url"), Duration::from_secs(10)).expect("client");
    traffic_counted(&prometheus).await;

    let dir = tempfile::tempdir().expect("tempdir");
    // ONCALL_SNAPSHOT_KEEP=DIR keeps the page and screenshot (docs/images comes from here).
    let out_dir = std::env::var_os("ONCALL_SNAPSHOT_KEEP")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().to_owned());
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let html_path = out_dir.join("api.html");
    let png_path = out_dir.join("api.png");

    // The real binary, from the workspace root, so its default --dashboards is the provisioned folder.
    let output = Command::new(env!("CARGO_BIN_EXE_oncall"))
        .current_dir(workspace())
        .env_remove("ONCALL_DASHBOARDS")
        .env("ONCALL_PROMETHEUS_URL", PROMETHEUS)
        .args([
            "snapshot",
            "--dashboard",
            DASHBOARD,
            "--since",
            "15m",
            "--out",
        ])
        .arg(&html_path)
        .output()
        .expect("run oncall snapshot");
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    assert!(output.status.success(), "oncall snapshot failed: {stderr}");
    let html = std::fs::read_to_string(&html_path).expect("the page was written");
    for external in ["<script", "<link", "src=\"http", "@import"] {
        assert!(
            !html.contains(external),
            "the page loads something: {external}"
        );
    }

    // Every panel of the provisioned dashboard, through the shared model.
    let dashboard = dashboards::find(&workspace().join("grafana/dashboards"), DASHBOARD)
        .expect("the provisioned API dashboard");
    let panels = dashboard.panels_flat();
    assert!(panels.len() >= 10, "the API dashboard has its panels");
    let mut charts = 0;
    for panel in &panels {
        let (status, body) = section(&html, panel.id);
        let on_prometheus = panel
            .visible_targets()
            .any(|t| panel.target_datasource(t).is_prometheus());
        let elsewhere = panel
            .visible_targets()
            .any(|t| panel.target_datasource(t).kind() != DatasourceKind::Prometheus);
        if on_prometheus {
            // Traffic just went through every one of these series: each panel
            // has data, and no query fails.
            assert_eq!(status, "ok", "panel {} {:?}: {body}", panel.id, panel.title);
        } else if elsewhere {
            assert_eq!(
                status, "not-rendered",
                "panel {} {:?}",
                panel.id, panel.title
            );
            assert!(
                body.contains("not rendered: "),
                "panel {}: {body}",
                panel.id
            );
        }
        if panel.kind == "timeseries" && on_prometheus {
            assert!(
                body.contains("<svg"),
                "panel {} {:?} has no chart",
                panel.id,
                panel.title
            );
            assert!(
                body.contains("<polyline"),
                "panel {} {:?} has no line",
                panel.id,
                panel.title
            );
            charts += 1;
        }
    }
    assert!(
        html.matches("<svg").count() >= charts && charts >= 8,
        "{charts} charts"
    );

    screenshot(&html_path, &png_path, &dir.path().join("chromium-profile"));
    let px = pixel_stats(&png_path);
    eprintln!(
        "screenshot {}: {} pixels, {} not the background, {} dark (text, axes), {} colours, {} of the first series' green",
        png_path.display(),
        px.total,
        px.drawn,
        px.dark,
        px.colours,
        px.green
    );
    assert!(
        px.drawn * 100 > px.total * 5,
        "the screenshot is blank: {} of {} pixels drawn",
        px.drawn,
        px.total
    );
    assert!(
        px.dark * 1000 > px.total * 5,
        "no text in the screenshot: {} dark pixels",
        px.dark
    );
    assert!(
        px.colours > 64,
        "the screenshot has only {} colours",
        px.colours
    );
    assert!(
        px.green > 200,
        "no chart line is visible ({} green pixels)",
        px.green
    );
}
