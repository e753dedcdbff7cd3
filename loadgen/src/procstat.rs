//! CPU time and memory of a process, from `/proc/PID/stat` and `/proc/PID/status`.

use std::time::Instant;

/// Clock ticks per second of `/proc/PID/stat`'s times (`getconf CLK_TCK`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// user + system CPU seconds of process `pid` ("self" for this one).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Resident memory of `pid`, in KiB.
pub fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU use of a process over a window, in percent of one core.
pub struct CpuWindow {
    pid: String,
    start: Instant,
    cpu: Option<f64>,
}

impl CpuWindow {
    pub fn start(pid: &str) -> CpuWindow {
        CpuWindow {
            pid: pid.to_string(),
            start: Instant::now(),
            cpu: cpu_seconds(pid),
        }
    }

    pub fn percent(&self) -> Option<f64> {
        let now = cpu_seconds(&self.pid)?;
        let elapsed = self.start.elapsed().as_secs_f64();
        Some((now - self.cpu?) / elapsed * 100.0)
    }
}

/// The whole machine's CPU time so far, in ticks: (busy, all). From `/proc/stat`.
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let all: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    Some((all - idle, all))
}

/// UDP datagrams this network namespace dropped so far: (receive buffer full, send
/// buffer full, all receive errors). From `/proc/net/snmp`.
pub fn udp_drops() -> Option<(u64, u64, u64)> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let names: Vec<&str> = udp.next()?.split_whitespace().collect();
    let values: Vec<u64> = udp
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let get = |name: &str| {
        let i = names.iter().position(|n| *n == name)?;
        values.get(i - 1).copied()
    };
    Some((get("RcvbufErrors")?, get("SndbufErrors")?, get("InErrors")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(cpu_seconds("self").is_some());
        assert!(rss_kib("self").unwrap() > 0);
        let (busy, all) = machine_ticks().unwrap();
        assert!(busy <= all);
        assert!(udp_drops().is_some());
    }
}
