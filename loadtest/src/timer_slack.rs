//! Precise sleeps for both generators. Linux lets a sleeping thread wake up to its timer
//! slack (50 µs by default) late, so that wake-ups can be batched; a generator that paces
//! requests by sleeping would start every one of them that late.

/// Makes the calling thread's sleeps as precise as the kernel allows (1 ns of slack).
/// Threads spawned from it afterwards inherit the setting.
pub fn tighten() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and only affects this thread
    // (and threads created from it afterwards).
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}
