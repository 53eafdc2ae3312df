//! What the workspace's benchmarks share: CPU pinning and the load average printed
//! beside every figure (a busy machine colours them).

use std::io;

/// Pins the calling thread to `cpu`; threads spawned afterwards inherit the mask, so
/// pin before starting any runtime or worker that should share it.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is the empty set that CPU_SET fills in.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The 1, 5 and 15 minute load averages (/proc/loadavg).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_thread_runs_on_its_cpu_only() {
        std::thread::spawn(|| {
            pin_current_thread(0).expect("pin");
            // SAFETY: sched_getcpu has no preconditions.
            assert_eq!(unsafe { libc::sched_getcpu() }, 0);
        })
        .join()
        .expect("thread");
    }

    #[test]
    fn the_load_average_is_three_numbers() {
        let load = load_average();
        let parts: Vec<f64> = load.split(' ').filter_map(|p| p.parse().ok()).collect();
        assert_eq!(parts.len(), 3, "{load}");
    }
}
