//! Load generation with blocking sockets on plain threads: on a shared core a thread per
//! connection doing send/recv syscalls is the cheapest generator, and it needs no runtime.

pub mod closed;
pub mod http1;
pub mod open;
