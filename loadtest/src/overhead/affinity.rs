//! The cores there are. The server gets one (via taskset), everything the bench does gets the
//! other (`testkit::bench::pin_current_thread`), so load generation and OTLP receiving never
//! steal the server's CPU.

pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
