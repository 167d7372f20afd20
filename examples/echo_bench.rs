//! Three echo servers side by side, in one run: swapctx's event loop
//! (examples/evloop/, one thread, one coroutine per connection), a thread
//! per connection with blocking `std::net`, and tokio's current-thread
//! runtime (one thread, one task per connection).
//!
//! ```text
//! cargo run --release --example echo_bench
//! cargo run --release --example echo_bench -- --conns 100,1000 --total 100000 --rounds 1 --csv out.csv
//! ```
//!
//! The machine may be shared: each number of connections is measured in
//! `--rounds` rounds (3 by default), each round running the three servers
//! one after the other, and each server's best round (by messages per
//! second) is shown, so that a burst of someone else's work in one round
//! does not decide the comparison.
//!
//! Each server runs in a child process of its own (this program, started
//! with `--serve KIND CONNS`), so that its memory and threads are its
//! own. The load generator is the same for all three: swapctx's loop in
//! this process, on one thread. For each number of connections N it opens
//! N connections with one checked round trip each, then reads the server's
//! resident memory and thread count (`/proc/PID/status`) with every
//! connection open and idle, then sends `total / N` messages of 64 bytes on
//! each connection (one at a time per connection, all connections at once)
//! and checks every byte of every echo. Messages per second count round
//! trips; the latency is the round trip's, as the client sees it. The
//! memory per connection is (idle resident memory - the server's resident
//! memory before any connection) / N. The CPU time per message is the
//! server's (user and system, all threads, `/proc/PID/stat`) during the
//! messages, divided by their number: less disturbed by other programs on
//! the machine than the throughput, which depends on who else runs.

mod evloop;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use evloop::{echo, EventLoop};

const KINDS: [&str; 3] = ["swapctx", "threads", "tokio"];

/// The servers, each in its own process: prints `port P` and serves until
/// killed.
mod serve {
    use super::*;

    fn announce(addr: SocketAddr) {
        println!("port {}", addr.port());
        io::stdout().flush().expect("stdout is open");
    }

    pub fn swapctx() -> io::Result<()> {
        let mut ev = EventLoop::new()?;
        let listener = ev.listen("127.0.0.1:0")?;
        announce(listener.local_addr()?);
        ev.spawn(move |io| {
            if let Err(e) = echo::serve(io, listener, None) {
                eprintln!("swapctx server: accept failed: {e}");
            }
        });
        ev.run();
        Ok(())
    }

    fn echo_blocking(mut s: std::net::TcpStream) {
        let mut buf = [0u8; echo::BUF];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    }

    pub fn threads() -> io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        announce(listener.local_addr()?);
        let mut started = 0usize;
        let mut reported = false;
        for s in listener.incoming() {
            let s = s?;
            s.set_nodelay(true)?;
            match std::thread::Builder::new().spawn(move || echo_blocking(s)) {
                Ok(_) => started += 1,
                // The connection is closed (the closure is dropped): the
                // client reports it; say why once.
                Err(e) if !reported => {
                    eprintln!(
                        "thread-per-connection server: cannot start a thread for connection \
                         {}: {e}",
                        started + 1
                    );
                    reported = true;
                }
                Err(_) => {}
            }
        }
        Ok(())
    }

    pub fn tokio() -> io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            announce(listener.local_addr()?);
            loop {
                let (mut s, _) = listener.accept().await?;
                s.set_nodelay(true)?;
                tokio::spawn(async move {
                    let mut buf = [0u8; echo::BUF];
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        })
    }
}

/// A field of `/proc/PID/status`, as a number (kB for memory).
fn status_field(pid: u32, field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {field} in /proc/{pid}/status")))
}

/// A process's CPU time, user and system, all its threads
/// (`/proc/PID/stat` fields 14 and 15, in clock ticks).
fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may
    // hold spaces: field 3 (state) is the first.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat has no command name")))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<u64> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no field {i} in /proc/{pid}/stat")))
    };
    // SAFETY: sysconf takes no pointers and only reads a setting.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if per_second <= 0 {
        return Err(io::Error::other("sysconf(_SC_CLK_TCK) failed"));
    }
    let t = ticks(14)? + ticks(15)?;
    Ok(Duration::from_secs_f64(t as f64 / per_second as f64))
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(kind: &str, conns: usize) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut child = Command::new(exe)
            .args(["--serve", kind, &conns.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the {kind} server: {e}"))?;
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout is piped");
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| format!("no port from the {kind} server: {e}"))?;
        let port: u16 = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("the {kind} server said {line:?} instead of its port"))?;
        Ok(Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }
    fn rss_kb(&self) -> u64 {
        status_field(self.child.id(), "VmRSS").unwrap_or(0)
    }
    /// The server's CPU time so far, user and system, all threads.
    fn cpu(&self) -> Duration {
        cpu_time(self.child.id()).unwrap_or_default()
    }
    fn threads(&self) -> u64 {
        status_field(self.child.id(), "Threads").unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line of the table.
struct Row {
    kind: &'static str,
    conns: usize,
    /// Err: where and why it stopped.
    result: Result<Measured, String>,
}

struct Measured {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    rss_per_conn_kb: f64,
    threads: u64,
    /// The server's CPU time per message during the load.
    cpu_per_msg: Duration,
}

fn measure(kind: &'static str, conns: usize, messages: usize, size: usize) -> Row {
    let result = (|| {
        let server = Server::start(kind, conns)?;
        // Let the server finish starting (tokio's runtime, the first
        // accept) before its baseline is read.
        std::thread::sleep(Duration::from_millis(100));
        let base = server.rss_kb();
        let mut ev = EventLoop::new().map_err(|e| e.to_string())?;
        let timeout = Duration::from_secs(10);
        let streams = echo::connect_all(&mut ev, server.addr, conns, size, timeout)
            .map_err(|e| format!("connecting {conns}: {e}"))?;
        let idle = server.rss_kb();
        let threads = server.threads();
        let cpu0 = server.cpu();
        let r = echo::load(&mut ev, streams, messages, size, timeout)?;
        let cpu = server.cpu().saturating_sub(cpu0);
        Ok(Measured {
            per_second: r.per_second(),
            p50: r.percentile(50.0),
            p99: r.percentile(99.0),
            rss_per_conn_kb: idle.saturating_sub(base) as f64 / conns as f64,
            threads,
            cpu_per_msg: cpu / r.messages.max(1) as u32,
        })
    })();
    Row {
        kind,
        conns,
        result,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

struct Args {
    conns: Vec<usize>,
    total: usize,
    rounds: usize,
    csv: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut conns = vec![100, 1_000, 10_000];
    let mut total = 200_000;
    let mut rounds = 3;
    let mut csv = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--conns" => {
                conns = value()?
                    .split(',')
                    .map(|n| n.parse().ok().filter(|&n| n > 0))
                    .collect::<Option<Vec<usize>>>()
                    .ok_or("--conns takes positive numbers separated by commas, like 100,1000")?
            }
            "--total" => {
                total = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--total takes a positive number of messages")?
            }
            "--rounds" => {
                rounds = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--rounds takes a positive number")?
            }
            "--csv" => csv = Some(value()?),
            _ => {
                return Err(format!(
                    "unknown argument {a:?}; usage: echo_bench [--conns N,N,...] \
                     [--total MESSAGES] [--rounds R] [--csv FILE]"
                ))
            }
        }
    }
    Ok(Args {
        conns,
        total,
        rounds,
        csv,
    })
}

fn bench(args: &[String]) -> Result<(), String> {
    let Args {
        conns: conn_counts,
        total,
        rounds,
        csv,
    } = parse_args(args)?;
    let size = 64;
    let max = conn_counts.iter().copied().max().unwrap_or(0);
    let limit = evloop::raise_fd_limit(max as u64 + 64).map_err(|e| e.to_string())?;
    println!(
        "echo servers, {size}-byte messages, {total} round trips per run, best of {rounds} \
         rounds (open-file limit {limit})"
    );
    println!(
        "{:<8} {:>6} {:>10} {:>10} {:>10} {:>12} {:>8} {:>11}  {:>8} {:>8} {:>8}",
        "server",
        "conns",
        "msgs/s",
        "p50",
        "p99",
        "RSS/conn",
        "threads",
        "CPU/msg",
        "msgs/s÷",
        "RSS÷",
        "CPU÷"
    );
    let mut rows = Vec::new();
    for &conns in &conn_counts {
        let messages = (total / conns).max(1);
        let mut group: Vec<Row> = KINDS
            .iter()
            .map(|&kind| Row {
                kind,
                conns,
                result: Err("not measured".into()),
            })
            .collect();
        for _ in 0..rounds {
            for (kind, best) in KINDS.iter().zip(group.iter_mut()) {
                let row = measure(kind, conns, messages, size);
                let better = match (&row.result, &best.result) {
                    (Ok(new), Ok(old)) => new.per_second > old.per_second,
                    (Ok(_), Err(_)) => true,
                    // The first failure is kept: it says where and why.
                    (Err(_), Err(old)) => old == "not measured",
                    (Err(_), Ok(_)) => false,
                };
                if better {
                    *best = row;
                }
            }
        }
        let tokio = group
            .iter()
            .find(|r| r.kind == "tokio")
            .and_then(|r| r.result.as_ref().ok())
            .map(|m| (m.per_second, m.rss_per_conn_kb, m.cpu_per_msg));
        for row in &group {
            match &row.result {
                Ok(m) => {
                    let ratios = tokio.map_or(
                        [String::new(), String::new(), String::new()],
                        |(t, r, c)| {
                            [
                                format!("{:.2}", m.per_second / t),
                                format!("{:.2}", m.rss_per_conn_kb / r),
                                format!(
                                    "{:.2}",
                                    m.cpu_per_msg.as_secs_f64() / c.as_secs_f64().max(1e-12)
                                ),
                            ]
                        },
                    );
                    println!(
                        "{:<8} {:>6} {:>10.0} {:>10} {:>10} {:>9.1} KiB {:>8} {:>8.2} µs  {:>8} {:>8} {:>8}",
                        row.kind,
                        row.conns,
                        m.per_second,
                        ms(m.p50),
                        ms(m.p99),
                        m.rss_per_conn_kb,
                        m.threads,
                        m.cpu_per_msg.as_secs_f64() * 1e6,
                        ratios[0],
                        ratios[1],
                        ratios[2]
                    );
                }
                Err(e) => println!("{:<8} {:>6} failed: {e}", row.kind, row.conns),
            }
        }
        rows.extend(group);
    }
    println!("(÷: the ratio to tokio's figure at the same number of connections)");
    if let Some(path) = csv {
        let mut out = String::from(
            "server,conns,msgs_per_s,p50_us,p99_us,rss_per_conn_kib,threads,cpu_us_per_msg\n",
        );
        for r in &rows {
            if let Ok(m) = &r.result {
                out.push_str(&format!(
                    "{},{},{:.0},{:.1},{:.1},{:.2},{},{:.3}\n",
                    r.kind,
                    r.conns,
                    m.per_second,
                    m.p50.as_secs_f64() * 1e6,
                    m.p99.as_secs_f64() * 1e6,
                    m.rss_per_conn_kb,
                    m.threads,
                    m.cpu_per_msg.as_secs_f64() * 1e6
                ));
            }
        }
        std::fs::write(&path, out).map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("wrote {path}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.as_slice() {
        [flag, kind, conns] if flag == "--serve" => {
            let need = conns.parse::<u64>().unwrap_or(0) + 64;
            let r = evloop::raise_fd_limit(need).and_then(|_| match kind.as_str() {
                "swapctx" => serve::swapctx(),
                "threads" => serve::threads(),
                "tokio" => serve::tokio(),
                _ => Err(io::Error::other(format!("no server named {kind:?}"))),
            });
            r.map_err(|e| format!("{kind} server: {e}"))
        }
        _ => bench(&args),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
