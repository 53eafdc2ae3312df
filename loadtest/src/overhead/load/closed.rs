//! Saturation (closed model): a few keep-alive connections each send the next request as
//! soon as the previous answer arrives. Server CPU over the measured window divided by the
//! requests answered in it gives CPU per request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::overhead::cpu;
use crate::overhead::endpoint::RequestBuilder;
use crate::overhead::load::http1::Conn;

#[derive(Clone, Debug, Serialize)]
pub struct Saturation {
    /// Responses received inside the measured window.
    pub requests: u64,
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
    pub cpu_us_per_request: f64,
    /// The same split by thread (on-CPU time, `cpu::ThreadsCpu`): the threads that serve
    /// requests, and telemetry's export threads. Their sum is close to, not equal to,
    /// `cpu_us_per_request` (another clock: schedstat ns, not 10 ms ticks).
    pub serving_cpu_us_per_request: f64,
    pub export_cpu_us_per_request: f64,
    pub requests_per_second: f64,
    /// Every response including the warm-up: these all produce telemetry.
    pub total_responses: u64,
    /// Non-2xx responses and transport errors over the whole phase.
    pub errors: u64,
    /// Share of the server core used by the server: well below 1 means it was not
    /// saturated (the generator or something else was the bottleneck).
    pub server_core_share: f64,
    /// Share of the server core used by other processes: anything above a few percent
    /// means the machine was not quiet and the figures are noisy.
    pub foreign_load_on_server_core: f64,
    /// CPU used by this bench process (generator + receiver), in cores.
    pub bench_cpu_share: f64,
}

struct Shared {
    stop: AtomicBool,
    responses: AtomicU64,
    errors: AtomicU64,
}

pub fn run(
    addr: SocketAddr,
    builder: &RequestBuilder,
    server_pid: u32,
    server_core: usize,
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Saturation> {
    let shared = Shared {
        stop: AtomicBool::new(false),
        responses: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    };
    let window = std::thread::scope(|s| {
        for worker in 0..connections {
            let shared = &shared;
            s.spawn(move || drive(addr, builder, worker as u64, shared));
        }
        let window = measure_window(&shared, server_pid, server_core, warmup, measure);
        // Stop even when measuring failed, or the scope would never end.
        shared.stop.store(true, Ordering::Relaxed);
        window
    })?;
    let Window {
        requests,
        cpu_seconds,
        threads,
        wall_seconds,
        core_busy_seconds,
        bench_cpu_seconds,
    } = window;
    anyhow::ensure!(requests > 0, "no responses during the measured window");
    Ok(Saturation {
        server_core_share: cpu_seconds / wall_seconds,
        foreign_load_on_server_core: ((core_busy_seconds - cpu_seconds) / wall_seconds).max(0.0),
        bench_cpu_share: bench_cpu_seconds / wall_seconds,
        requests,
        cpu_seconds,
        wall_seconds,
        cpu_us_per_request: cpu_seconds * 1e6 / requests as f64,
        serving_cpu_us_per_request: threads.serving_ns as f64 / 1e3 / requests as f64,
        export_cpu_us_per_request: threads.export_ns as f64 / 1e3 / requests as f64,
        requests_per_second: requests as f64 / wall_seconds,
        total_responses: shared.responses.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
    })
}

struct Window {
    requests: u64,
    cpu_seconds: f64,
    threads: cpu::ThreadsCpu,
    wall_seconds: f64,
    core_busy_seconds: f64,
    bench_cpu_seconds: f64,
}

struct Snapshot {
    server_cpu: f64,
    threads: cpu::ThreadsCpu,
    core_busy: f64,
    bench_cpu: f64,
    responses: u64,
    at: Instant,
}

fn measure_window(
    shared: &Shared,
    pid: u32,
    core: usize,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Window> {
    std::thread::sleep(warmup);
    let a = snapshot(shared, pid, core)?;
    std::thread::sleep(measure);
    let b = snapshot(shared, pid, core)?;
    Ok(Window {
        requests: b.responses - a.responses,
        cpu_seconds: b.server_cpu - a.server_cpu,
        threads: b.threads.since(&a.threads),
        wall_seconds: (b.at - a.at).as_secs_f64(),
        core_busy_seconds: b.core_busy - a.core_busy,
        bench_cpu_seconds: b.bench_cpu - a.bench_cpu,
    })
}

fn snapshot(shared: &Shared, pid: u32, core: usize) -> anyhow::Result<Snapshot> {
    Ok(Snapshot {
        server_cpu: cpu::cpu_seconds(pid).context("reading server CPU time")?,
        threads: cpu::threads_cpu(pid).context("reading the server's threads")?,
        core_busy: cpu::core_busy_seconds(core).context("reading /proc/stat")?,
        bench_cpu: cpu::cpu_seconds(std::process::id()).context("reading own CPU time")?,
        responses: shared.responses.load(Ordering::Relaxed),
        at: Instant::now(),
    })
}

fn drive(addr: SocketAddr, builder: &RequestBuilder, worker: u64, shared: &Shared) {
    let mut conn: Option<Conn> = None;
    let mut scratch = Vec::with_capacity(512);
    // Distinct per worker so POSTed names stay unique across connections.
    let mut seq = worker << 40;
    while !shared.stop.load(Ordering::Relaxed) {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(addr) {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        seq += 1;
        match c.status(builder.build(seq, &mut scratch)) {
            Ok(status) => {
                shared.responses.fetch_add(1, Ordering::Relaxed);
                if !(200..300).contains(&status) {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}
