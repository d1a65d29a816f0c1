//! Wall time, CPU time and peak RSS of a child process.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How often [`run_measured`] checks whether the child has exited. It bounds the error of the
/// wall time.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Resource use of one finished child process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub wall: Duration,
    /// User plus system time of the child.
    pub cpu: Duration,
    /// Peak resident set size of the child, in KiB, as the kernel reports `ru_maxrss`.
    pub max_rss_kib: u64,
    /// CPU time, in seconds, that the Kafka broker used while the child ran, when its
    /// process is known.
    pub broker_cpu: Option<f64>,
    /// CPU time, in seconds, that every other process on the machine used while the child
    /// ran, the broker excluded when its process is known. It is the difference of counters
    /// that the kernel keeps differently, so a quiet run can show a small negative value.
    pub other_cpu: f64,
}

/// Runs `command` to its end and returns its exit status and resource use, with the CPU
/// time of the broker process `broker_pid` when it is given. Kills the child and returns an
/// error when it runs longer than `timeout`.
pub fn run_measured(
    command: &mut Command,
    timeout: Duration,
    broker_pid: Option<u32>,
) -> anyhow::Result<(ExitStatus, Usage)> {
    let broker_before = broker_pid.map(process_cpu_seconds).transpose()?;
    let busy_before = busy_cpu_seconds()?;
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let pid = child.id() as libc::pid_t;

    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data, for which all zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is a child of this process that nothing else waits for, and both
        // pointers are valid for writes for the duration of the call.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        if reaped < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot wait for {command:?}"));
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{command:?} ran longer than {timeout:?} and was killed");
        }
        std::thread::sleep(EXIT_POLL_INTERVAL);
    }
    let wall = started.elapsed();
    let busy_after = busy_cpu_seconds()?;
    let broker_cpu = match (broker_pid, broker_before) {
        (Some(pid), Some(before)) => Some(process_cpu_seconds(pid)? - before),
        _ => None,
    };

    let cpu = timeval_duration(usage.ru_utime) + timeval_duration(usage.ru_stime);
    let usage = Usage {
        wall,
        cpu,
        max_rss_kib: usage.ru_maxrss as u64,
        broker_cpu,
        other_cpu: busy_after - busy_before - cpu.as_secs_f64() - broker_cpu.unwrap_or(0.0),
    };
    Ok((ExitStatus::from_raw(status), usage))
}

fn timeval_duration(time: libc::timeval) -> Duration {
    Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
}

/// Waits until the machine's processes use less than `threshold` CPUs over a second, for at
/// most `max_wait`. Returns the last CPU use seen, so the caller can report a busy machine.
pub fn wait_for_quiet(threshold: f64, max_wait: Duration) -> anyhow::Result<f64> {
    let started = Instant::now();
    loop {
        let before = busy_cpu_seconds()?;
        std::thread::sleep(Duration::from_secs(1));
        let used = busy_cpu_seconds()? - before;
        if used < threshold || started.elapsed() >= max_wait {
            return Ok(used);
        }
    }
}

/// Returns the user plus system time, in seconds, that process `pid` has used, from fields
/// 14 and 15 of `/proc/PID/stat`.
fn process_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {path}; check the broker's PID"))?;
    // The command name in field 2 may contain spaces, so the fields are counted from the
    // `)` that ends it, where field 3 starts.
    let Some((_, fields)) = stat.rsplit_once(')') else {
        bail!("{path} has no `)` after the command name");
    };
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<u64> {
        let field = fields
            .get(index)
            .with_context(|| format!("{path} has fewer than {} fields", index + 3))?;
        field
            .parse()
            .with_context(|| format!("field `{field}` of {path} is not a number"))
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(total as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: `sysconf` only reads a configuration value.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// Returns the CPU time, in seconds, that the machine's processes have used since boot: the
/// user, nice, system, irq and softirq columns of `/proc/stat`.
fn busy_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        bail!("/proc/stat has no `cpu` line");
    };
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let busy: u64 = [0, 1, 2, 5, 6]
        .iter()
        .map(|&index| ticks.get(index).copied().unwrap_or(0))
        .sum();
    Ok(busy as f64 / clock_ticks_per_second())
}
