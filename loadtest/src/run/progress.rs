//! The live progress line of `loadtest run`: on a terminal it is redrawn every second,
//! elsewhere (CI logs) a line is printed every 10 s.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::run::recorder::Recorder;

/// Prints until `stop` is set.
pub fn show(recorder: &Recorder, stop: &AtomicBool) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty { 1 } else { 10 };
    let started = Instant::now();
    let mut last = 0u64;
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let secs = started.elapsed().as_secs();
        if secs == tick {
            continue;
        }
        tick = secs;
        if !secs.is_multiple_of(every) {
            continue;
        }
        let (requests, failed, p95) = recorder.progress();
        let rate = (requests - last) as f64 / every as f64;
        last = requests;
        let line = format!(
            "[{secs:>5}s] {requests} requests, {rate:.0}/s, {failed} failed, p95 {}",
            p95.map_or("-".into(), |p| format!("{p:.2}ms"))
        );
        if tty {
            eprint!("\r{line}    ");
        } else {
            eprintln!("{line}");
        }
    }
    if tty {
        eprintln!();
    }
}
