//! Server CPU time from /proc/<pid>/stat. utime and stime there already cover every
//! thread of the process, which matters: telemetry export runs on background threads.

use std::io;

/// utime + stime in clock ticks (fields 14 and 15 of proc(5)).
pub fn parse_cpu_ticks(stat: &str) -> io::Result<u64> {
    // The command name (field 2) is in parentheses and may itself hold spaces or ')',
    // so split after the last ')'.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| bad("no ')' in stat line"))?;
    let mut fields = rest.split_ascii_whitespace();
    // After the name come field 3 (state) ... ; utime is field 14, i.e. 11 fields later.
    let utime = fields.nth(11).ok_or_else(|| bad("stat line too short"))?;
    let stime = fields.next().ok_or_else(|| bad("stat line too short"))?;
    let parse = |s: &str| s.parse::<u64>().map_err(|_| bad("non-numeric cpu field"));
    Ok(parse(utime)? + parse(stime)?)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// CPU seconds used so far by process `pid` (all threads).
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    Ok(parse_cpu_ticks(&stat)? as f64 / clock_ticks_per_second())
}

/// Busy time of one core (all processes) from /proc/stat, in clock ticks: user, nice,
/// system, irq, softirq and steal (guest time is already inside user).
pub fn parse_core_busy_ticks(stat: &str, cpu: usize) -> io::Result<u64> {
    let label = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_ascii_whitespace().next() == Some(label.as_str()))
        .ok_or_else(|| bad("core not in /proc/stat"))?;
    let v: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .map(|f| {
            f.parse::<u64>()
                .map_err(|_| bad("non-numeric /proc/stat field"))
        })
        .collect::<io::Result<_>>()?;
    if v.len() < 8 {
        return Err(bad("short /proc/stat line"));
    }
    // user nice system idle iowait irq softirq steal
    Ok(v[0] + v[1] + v[2] + v[5] + v[6] + v[7])
}

/// Seconds core `cpu` has been busy since boot, whoever ran on it. Comparing this with
/// the server's own CPU time shows whether something else competed for the server's core.
pub fn core_busy_seconds(cpu: usize) -> io::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    Ok(parse_core_busy_ticks(&stat, cpu)? as f64 / clock_ticks_per_second())
}

pub fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0 // the Linux USER_HZ on every mainstream architecture
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime() {
        let line = "4242 (alertingscout) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 37 0 0 20 0 9 0 123456 100000000 2000 18446744073709551615";
        assert_eq!(parse_cpu_ticks(line).unwrap(), 287);
    }

    #[test]
    fn survives_spaces_and_parens_in_the_name() {
        let line = "7 (tokio (rt) x) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1";
        assert_eq!(parse_cpu_ticks(line).unwrap(), 11);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_cpu_ticks("garbage").is_err());
        assert!(parse_cpu_ticks("1 (x) S 1 2").is_err());
    }

    #[test]
    fn parses_core_lines() {
        let stat = "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 1 2 3 1000 50 4 5 6 7 0\ncpu1 9 0 0 5 0 0 0 0 0 0\nintr 1";
        assert_eq!(parse_core_busy_ticks(stat, 0).unwrap(), 21);
        assert_eq!(parse_core_busy_ticks(stat, 1).unwrap(), 9);
        assert!(parse_core_busy_ticks(stat, 2).is_err());
    }

    #[test]
    fn reads_our_own_process() {
        assert!(core_busy_seconds(0).unwrap() > 0.0);
        assert!(cpu_seconds(std::process::id()).unwrap() >= 0.0);
    }
}

/// On-CPU nanoseconds of all current threads of `pid`, from /proc/<pid>/task/*/schedstat
/// (nanosecond resolution, unlike the 10 ms ticks of /proc/<pid>/stat).
pub fn threads_cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = entry?.path().join("schedstat");
        // A thread may exit between listing and reading.
        if let Ok(text) = std::fs::read_to_string(path) {
            total += parse_schedstat_ns(&text)?;
        }
    }
    Ok(total)
}

/// First field of a schedstat line: time spent on the CPU, in ns.
pub fn parse_schedstat_ns(text: &str) -> io::Result<u64> {
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad schedstat"))
}

#[cfg(test)]
mod schedstat_tests {
    #[test]
    fn schedstat_first_field_is_ns_on_cpu() {
        assert_eq!(
            super::parse_schedstat_ns("123456 789 10\n").unwrap(),
            123456
        );
        assert!(super::parse_schedstat_ns("").is_err());
    }

    #[test]
    fn own_threads_can_be_read() {
        assert!(super::threads_cpu_ns(std::process::id()).unwrap() > 0);
    }
}
