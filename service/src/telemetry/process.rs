//! Process resource metrics for the resource dashboard and the CPU alert,
//! read from /proc/self/stat at each collection (not per request):
//! `process.cpu.time` (s, by cpu.mode), `process.cpu.utilization` (share of
//! the CPUs available), `process.memory.usage` (RSS, bytes),
//! `process.memory.virtual` (bytes).

use std::sync::Arc;
use std::time::Instant;

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use parking_lot::Mutex;
use procfs::process::Stat;
use procfs::FromRead;

/// CPU seconds (user, system) and memory (rss, virtual bytes) of this process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcStat {
    pub user_seconds: f64,
    pub system_seconds: f64,
    pub rss_bytes: i64,
    pub virtual_bytes: i64,
}

/// The figures of a parsed /proc/<pid>/stat, with the system's clock ticks per second
/// and page size.
fn from_stat(stat: &Stat, ticks_per_second: f64, page_size: i64) -> ProcStat {
    ProcStat {
        user_seconds: stat.utime as f64 / ticks_per_second,
        system_seconds: stat.stime as f64 / ticks_per_second,
        virtual_bytes: i64::try_from(stat.vsize).unwrap_or(i64::MAX),
        rss_bytes: stat.rss.saturating_mul(page_size.max(0) as u64) as i64,
    }
}

/// Parses the content of /proc/<pid>/stat (procfs's parser: the command name may
/// contain spaces and parentheses).
pub fn parse_stat(stat: &str, ticks_per_second: f64, page_size: i64) -> Option<ProcStat> {
    let stat = Stat::from_read(stat.as_bytes()).ok()?;
    Some(from_stat(&stat, ticks_per_second, page_size))
}

fn read_self() -> Option<ProcStat> {
    let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
    // sysconf, not procfs's ticks_per_second/page_size: those parse the ELF aux
    // vector through rustix, which crashes under valgrind (the callgrind gate).
    // SAFETY: sysconf has no preconditions.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    Some(from_stat(&stat, ticks.max(1) as f64, page.max(1)))
}

/// Registers the observable instruments; the callbacks run at collection.
pub fn register(meter: &Meter) {
    meter
        .f64_observable_counter("process.cpu.time")
        .with_unit("s")
        .with_description("Total CPU seconds broken down by different CPU modes.")
        .with_callback(|observer| {
            if let Some(stat) = read_self() {
                observer.observe(stat.user_seconds, &[KeyValue::new("cpu.mode", "user")]);
                observer.observe(stat.system_seconds, &[KeyValue::new("cpu.mode", "system")]);
            }
        })
        .build();

    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    // Seeded now, so the first collection already has an interval to measure.
    let seed = read_self().map(|s| (Instant::now(), s.user_seconds + s.system_seconds));
    let last: Arc<Mutex<Option<(Instant, f64)>>> = Arc::new(Mutex::new(seed));
    meter
        .f64_observable_gauge("process.cpu.utilization")
        .with_unit("1")
        .with_description(
            "CPU time used since the last measurement, divided by the elapsed time and the CPUs available.",
        )
        .with_callback(move |observer| {
            let Some(stat) = read_self() else { return };
            let now = Instant::now();
            let cpu = stat.user_seconds + stat.system_seconds;
            let mut last = last.lock();
            if let Some((then, cpu_then)) = *last {
                let wall = now.duration_since(then).as_secs_f64();
                if wall > 0.0 {
                    observer.observe(((cpu - cpu_then) / wall / cpus).max(0.0), &[]);
                }
            }
            *last = Some((now, cpu));
        })
        .build();

    meter
        .i64_observable_up_down_counter("process.memory.usage")
        .with_unit("By")
        .with_description("The amount of physical memory in use.")
        .with_callback(|observer| {
            if let Some(stat) = read_self() {
                observer.observe(stat.rss_bytes, &[]);
            }
        })
        .build();

    meter
        .i64_observable_up_down_counter("process.memory.virtual")
        .with_unit("By")
        .with_description("The amount of committed virtual memory.")
        .with_callback(|observer| {
            if let Some(stat) = read_self() {
                observer.observe(stat.virtual_bytes, &[]);
            }
        })
        .build();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_command_names() {
        // A whole line as Linux 6 writes it (52 fields).
        let line = "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0 100 123456789 2000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
        let stat = parse_stat(line, 100.0, 4096).unwrap();
        assert_eq!(stat.user_seconds, 2.5);
        assert_eq!(stat.system_seconds, 0.5);
        assert_eq!(stat.virtual_bytes, 123_456_789);
        assert_eq!(stat.rss_bytes, 2000 * 4096);
    }

    #[test]
    fn this_process_can_be_read() {
        let stat = read_self().unwrap();
        assert!(stat.rss_bytes > 0);
    }
}
