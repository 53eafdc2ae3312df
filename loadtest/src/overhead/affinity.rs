//! CPU pinning. The server gets one core (via taskset), everything the bench does gets the
//! other, so load generation and OTLP receiving never steal the server's CPU.

use std::io;

/// Pins the calling thread; threads spawned afterwards inherit the mask, so call this
/// first thing in main, before any runtime or worker thread exists.
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

pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
