//! CPU time of the server, of this process and of a core, read through procfs.
//!
//! - /proc/<pid>/stat: utime and stime there already cover every thread of the process,
//!   which matters: telemetry export runs on background threads;
//! - /proc/stat: how busy a core was, whoever ran on it, to tell whether something else
//!   competed for the server's core;
//! - /proc/<pid>/task/*/schedstat: on-CPU nanoseconds, for the fixed-rate phase whose
//!   CPU per request is too small for the 10 ms ticks of the other two, and per thread,
//!   to tell the threads that serve requests from telemetry's export threads.

use std::io;

use procfs::process::{Process, Schedstat, Stat};
use procfs::{CpuTime, CurrentSI, KernelStats};
#[cfg(test)]
use procfs::{FromBufReadSI, FromRead};

fn io_error(e: procfs::ProcError) -> io::Error {
    io::Error::other(e.to_string())
}

/// utime + stime in clock ticks (fields 14 and 15 of proc(5)).
fn cpu_ticks(stat: &Stat) -> u64 {
    stat.utime + stat.stime
}

/// CPU seconds used so far by process `pid` (all threads).
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = Process::new(pid as i32)
        .and_then(|p| p.stat())
        .map_err(io_error)?;
    Ok(cpu_ticks(&stat) as f64 / procfs::ticks_per_second() as f64)
}

/// Busy time of core `cpu` in clock ticks: user, nice, system, irq, softirq and steal
/// (guest time is already inside user).
fn core_busy_ticks(stats: &KernelStats, cpu: usize) -> io::Result<u64> {
    let t: &CpuTime = stats
        .cpu_time
        .get(cpu)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "core not in /proc/stat"))?;
    let opt = |v: Option<u64>| v.unwrap_or(0);
    Ok(t.user + t.nice + t.system + opt(t.irq) + opt(t.softirq) + opt(t.steal))
}

/// Seconds core `cpu` has been busy since boot, whoever ran on it. Comparing this with
/// the server's own CPU time shows whether something else competed for the server's core.
pub fn core_busy_seconds(cpu: usize) -> io::Result<f64> {
    let stats = KernelStats::current().map_err(io_error)?;
    Ok(core_busy_ticks(&stats, cpu)? as f64 / procfs::ticks_per_second() as f64)
}

/// On-CPU nanoseconds of all current threads of `pid`, from /proc/<pid>/task/*/schedstat
/// (nanosecond resolution, unlike the 10 ms ticks of /proc/<pid>/stat).
pub fn threads_cpu_ns(pid: u32) -> io::Result<u64> {
    threads_cpu(pid).map(|t| t.total())
}

/// On-CPU nanoseconds of a process's threads, split by their job: serving requests (the
/// runtime's workers, its blocking pool, main) or exporting telemetry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadsCpu {
    pub serving_ns: u64,
    pub export_ns: u64,
}

impl ThreadsCpu {
    pub fn total(&self) -> u64 {
        self.serving_ns + self.export_ns
    }

    /// What each group used since `earlier` (a thread gone in between takes its time
    /// with it; the export threads live as long as the process).
    pub fn since(&self, earlier: &ThreadsCpu) -> ThreadsCpu {
        ThreadsCpu {
            serving_ns: self.serving_ns.saturating_sub(earlier.serving_ns),
            export_ns: self.export_ns.saturating_sub(earlier.export_ns),
        }
    }
}

/// Telemetry's own threads, by the names the service and the SDK give them: the lean
/// exporter's `otel-export`, the stock path's `otel-sdk-grpc` runtime and the SDK's
/// `OpenTelemetry.{Traces,Logs}.BatchProcessor` and `OpenTelemetry.Metrics.PeriodicReader`
/// (a thread's comm is cut at 15 bytes).
pub fn is_export_thread(comm: &str) -> bool {
    comm.starts_with("otel") || comm.starts_with("OpenTelemetry")
}

/// [`ThreadsCpu`] of every current thread of `pid`.
pub fn threads_cpu(pid: u32) -> io::Result<ThreadsCpu> {
    let process = Process::new(pid as i32).map_err(io_error)?;
    let mut split = ThreadsCpu::default();
    for task in process.tasks().map_err(io_error)? {
        // A thread may exit between listing and reading.
        let Ok(task) = task else { continue };
        let (Ok(stat), Ok(schedstat)) = (task.stat(), task.schedstat()) else {
            continue;
        };
        if is_export_thread(&stat.comm) {
            split.export_ns += on_cpu_ns(&schedstat);
        } else {
            split.serving_ns += on_cpu_ns(&schedstat);
        }
    }
    Ok(split)
}

/// The first field of a schedstat line: time spent on the CPU, in ns.
fn on_cpu_ns(stat: &Schedstat) -> u64 {
    stat.sum_exec_runtime
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole line as Linux 6 writes it (52 fields), with `name` as the command.
    fn stat_line(name: &str, utime: u64, stime: u64) -> String {
        format!(
            "4242 ({name}) S 1 4242 4242 0 -1 4194560 1234 0 0 0 {utime} {stime} 0 0 20 0 9 0 123456 100000000 2000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
        )
    }

    fn parse_cpu_ticks(text: &str) -> Option<u64> {
        Stat::from_read(text.as_bytes()).ok().map(|s| cpu_ticks(&s))
    }

    #[test]
    fn parses_utime_and_stime() {
        assert_eq!(
            parse_cpu_ticks(&stat_line("alertingscout", 250, 37)),
            Some(287)
        );
    }

    #[test]
    fn survives_spaces_and_parens_in_the_name() {
        assert_eq!(parse_cpu_ticks(&stat_line("tokio (rt) x", 5, 6)), Some(11));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert_eq!(parse_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn parses_core_lines() {
        let stat = "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 1 2 3 1000 50 4 5 6 7 0\ncpu1 9 0 0 5 0 0 0 0 0 0\nintr 1\nctxt 5\nbtime 1700000000\nprocesses 9\nprocs_running 1\nprocs_blocked 0\n";
        let stats =
            KernelStats::from_buf_read(stat.as_bytes(), procfs::current_system_info()).unwrap();
        assert_eq!(core_busy_ticks(&stats, 0).unwrap(), 21);
        assert_eq!(core_busy_ticks(&stats, 1).unwrap(), 9);
        assert!(core_busy_ticks(&stats, 2).is_err());
    }

    #[test]
    fn reads_our_own_process() {
        assert!(core_busy_seconds(0).unwrap() > 0.0);
        assert!(cpu_seconds(std::process::id()).unwrap() >= 0.0);
    }
}

#[cfg(test)]
mod schedstat_tests {
    use super::*;

    #[test]
    fn schedstat_first_field_is_ns_on_cpu() {
        let parse = |text: &str| Schedstat::from_read(text.as_bytes()).ok();
        assert_eq!(
            parse("123456 789 10\n").map(|s| on_cpu_ns(&s)),
            Some(123456)
        );
        assert!(parse("").is_none());
    }

    #[test]
    fn own_threads_can_be_read() {
        assert!(super::threads_cpu_ns(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn a_thread_named_like_an_exporter_counts_as_export() {
        for name in [
            "otel-export",
            "otel-sdk-grpc",
            "OpenTelemetry.T",
            "OpenTelemetry.M",
        ] {
            assert!(is_export_thread(name), "{name}");
        }
        for name in ["tokio-runtime-w", "alertingscout", "main"] {
            assert!(!is_export_thread(name), "{name}");
        }
        let before = threads_cpu(std::process::id()).unwrap();
        let spawned = std::thread::Builder::new()
            .name("otel-export".into())
            .spawn(|| {
                let until = std::time::Instant::now() + std::time::Duration::from_millis(30);
                let mut x = 0u64;
                while std::time::Instant::now() < until {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                // Read while this thread still lives: an exited thread's time is gone.
                threads_cpu(std::process::id()).unwrap()
            })
            .unwrap();
        let during = spawned.join().unwrap().since(&before);
        assert!(during.export_ns >= 10_000_000, "{during:?}");
    }
}
