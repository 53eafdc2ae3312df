//! A stalled service (the process stopped for a moment while requests queue up) must
//! not start a thread per queued request: the blocking pool that runs the SQLite
//! calls is bounded (`startup::BLOCKING_THREADS`). Unbounded, a 5-second stall at
//! 100 requests/s left 64 more threads and 150 MiB more memory for good.

use futures_util::future::join_all;

use crate::helpers::TestApp;

const BLOCKING_THREADS: u64 = alertingscout::startup::BLOCKING_THREADS as u64;
const QUEUED: usize = 150;

fn threads(pid: u32) -> u64 {
    procfs::process::Process::new(pid as i32)
        .and_then(|p| p.stat())
        .map(|s| s.num_threads as u64)
        .expect("reading /proc/<pid>/stat")
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) on our own child.
    let rc = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

#[tokio::test]
async fn a_stall_under_load_starts_no_thread_per_queued_request() {
    let app = TestApp::spawn().await;
    let project = app.create_project("stall").await;
    let path = format!("/projects/{}", project["id"]);
    for _ in 0..10 {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    let before = threads(app.pid());

    // Stopped, the service accepts nothing; the requests wait in the kernel's backlog
    // and all arrive at once when it goes on.
    signal(app.pid(), libc::SIGSTOP);
    let burst = join_all((0..QUEUED).map(|_| app.get(&path)));
    let resume = async {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        signal(app.pid(), libc::SIGCONT);
    };
    let (responses, ()) = tokio::join!(burst, resume);
    let served = responses.iter().filter(|r| r.status() == 200).count();
    assert_eq!(served, QUEUED, "every queued request is served");

    let after = threads(app.pid());
    assert!(
        after <= before + BLOCKING_THREADS,
        "{QUEUED} requests queued in a stall took the service from {before} to {after} threads (at most {BLOCKING_THREADS} blocking threads)"
    );
}
