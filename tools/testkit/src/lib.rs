//! Test support shared by the workspace's test suites, so each helper exists once.
//!
//! - [`process::Spawned`]: one of our binaries started on port 0, its address read
//!   from the line it prints on stderr once it listens, killed on drop.
//! - [`service`]: the AlertingScout service started that way, as every suite needs it.
//! - [`elastic`]: the stack's Elasticsearch URL and its users' credentials.
//! - [`bench`]: CPU pinning and the load average, for the benchmarks.
//! - [`stats`]: a benchmark's spread over rounds (min, median, max).

pub mod bench;
pub mod elastic;
pub mod process;
pub mod service;
pub mod stats;
