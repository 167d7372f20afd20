//! An echo server and a load generator on the event loop of chapter 9
//! (examples/evloop/): one thread, one coroutine per connection.
//!
//! ```text
//! cargo run --release --example echo -- server 127.0.0.1:7000
//! cargo run --release --example echo -- load 127.0.0.1:7000 1000 100 64
//! ```
//!
//! `load ADDR CONNS MESSAGES SIZE` opens CONNS connections, sends MESSAGES
//! messages of SIZE bytes on each, one at a time, checks every byte of
//! every echo, prints the throughput and the round trips' p50/p99, and
//! stops (every wait is bounded by a 10 s timeout). Loopback only.

mod evloop;

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use evloop::{echo, EventLoop};

const USAGE: &str = "usage: echo server [ADDR]   (default 127.0.0.1:7000)\n       \
                     echo load ADDR CONNS MESSAGES SIZE";

fn loopback(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s
        .parse()
        .map_err(|e| format!("{s:?} is not an address like 127.0.0.1:7000: {e}"))?;
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => Ok(addr),
        _ => Err(format!(
            "{addr} is not an IPv4 loopback address (127.x.y.z)"
        )),
    }
}

fn number(what: &str, s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{what} must be a positive whole number, not {s:?}")),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut ev = EventLoop::new().map_err(|e| format!("cannot make the event loop: {e}"))?;
    match args {
        [cmd, rest @ ..] if cmd == "server" && rest.len() <= 1 => {
            let addr = loopback(rest.first().map_or("127.0.0.1:7000", String::as_str))?;
            evloop::raise_fd_limit(16_384).map_err(|e| e.to_string())?;
            let listener = ev
                .listen(addr)
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            println!("echo server on {addr}");
            ev.spawn(move |io| {
                if let Err(e) = echo::serve(io, listener, None) {
                    eprintln!("echo server: accept failed: {e}");
                }
            });
            ev.run();
            Ok(())
        }
        [cmd, addr, conns, messages, size] if cmd == "load" => {
            let addr = loopback(addr)?;
            let conns = number("CONNS", conns)?;
            let messages = number("MESSAGES", messages)?;
            let size = number("SIZE", size)?;
            evloop::raise_fd_limit(conns as u64 + 64).map_err(|e| e.to_string())?;
            let timeout = Duration::from_secs(10);
            let streams = echo::connect_all(&mut ev, addr, conns, size, timeout)?;
            let r = echo::load(&mut ev, streams, messages, size, timeout)?;
            println!(
                "{conns} connections x {messages} messages of {size} bytes: every echo checked"
            );
            println!(
                "{:.0} messages/s, round trip p50 {:?}, p99 {:?}",
                r.per_second(),
                r.percentile(50.0),
                r.percentile(99.0)
            );
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: {e}");
            ExitCode::FAILURE
        }
    }
}
