//! CPU pinning. The server gets one core (via taskset), everything the bench does gets the
//! other, so load generation and OTLP receiving never steal the server's CPU.

pub use testkit::bench::pin_current_thread;

pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
