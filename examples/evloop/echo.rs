//! The echo server's tasks and the load generator, on the event loop.
//!
//! The load generator opens `conns` connections and sends `messages`
//! messages of `size` bytes on each, one at a time (a message is sent when
//! the echo of the previous one has come back), and checks every byte of
//! every echo. Every wait is bounded by a timeout, so it always stops.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{EventLoop, Io, TcpListener, TcpStream};

/// The server's read buffer, on the task's stack.
pub const BUF: usize = 4096;

/// Echoes what it reads until the peer closes; returns the bytes echoed.
pub fn echo(io: &Io<'_>, s: &TcpStream) -> io::Result<u64> {
    let mut buf = [0u8; BUF];
    let mut total = 0;
    loop {
        let n = io.read(s, &mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        io.write_all(s, &buf[..n])?;
        total += n as u64;
    }
}

/// Accepts connections (for ever, or `max` of them), each served by a task
/// of its own running [`echo`].
pub fn serve(io: &Io<'_>, listener: TcpListener, max: Option<usize>) -> io::Result<()> {
    let mut accepted = 0;
    while max.map_or(true, |m| accepted < m) {
        let (s, _) = io.accept(&listener)?;
        s.std().set_nodelay(true)?;
        io.spawn(move |io| match echo(io, &s) {
            Ok(_) => {}
            // A client that goes away mid-message is the client's business.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ) => {}
            Err(e) => eprintln!("echo server: connection closed on error: {e}"),
        });
        accepted += 1;
    }
    Ok(())
}

/// The bytes of message `i` on connection `conn`: different on every
/// connection and every message, so a mixed-up echo is caught.
pub fn fill(conn: usize, i: usize, buf: &mut [u8]) {
    let seed = (conn as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((i as u64) << 32);
    for (k, b) in buf.iter_mut().enumerate() {
        *b = (seed
            .wrapping_add(k as u64)
            .wrapping_mul(0x2545_F491_4F6C_DD1D)
            >> 56) as u8;
    }
}

/// Sends one message and checks its echo; returns the round trip's time.
fn round_trip(
    io: &Io<'_>,
    s: &TcpStream,
    conn: usize,
    i: usize,
    out: &mut [u8],
    back: &mut [u8],
) -> io::Result<Duration> {
    fill(conn, i, out);
    let t0 = Instant::now();
    io.write_all(s, out)?;
    io.read_exact(s, back)?;
    let rtt = t0.elapsed();
    if let Some(k) = out.iter().zip(back.iter()).position(|(a, b)| a != b) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "message {i}: echo differs at byte {k}: sent {:#04x}, got {:#04x}",
                out[k], back[k]
            ),
        ));
    }
    Ok(rtt)
}

/// Opens `conns` connections to `addr`, `parallel` connects at a time,
/// and makes one checked round trip of `size` bytes on each (so that the
/// server has accepted every one and runs it). On any failure, the first
/// errors (at most 5) and how many there were.
pub fn connect_all(
    ev: &mut EventLoop,
    addr: SocketAddr,
    conns: usize,
    size: usize,
    timeout: Duration,
) -> Result<Vec<TcpStream>, String> {
    let parallel = conns.clamp(1, 64);
    let next = Rc::new(RefCell::new(0usize));
    let streams: Rc<RefCell<Vec<Option<TcpStream>>>> =
        Rc::new(RefCell::new((0..conns).map(|_| None).collect()));
    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    for _ in 0..parallel {
        let (next, streams, errors) = (next.clone(), streams.clone(), errors.clone());
        ev.spawn(move |io| {
            io.set_timeout(Some(timeout));
            let (mut out, mut back) = (vec![0u8; size], vec![0u8; size]);
            loop {
                let conn = {
                    let mut n = next.borrow_mut();
                    if *n == conns || !errors.borrow().is_empty() {
                        return;
                    }
                    *n += 1;
                    *n - 1
                };
                let r = io.connect(addr).and_then(|s| {
                    s.std().set_nodelay(true)?;
                    round_trip(io, &s, conn, 0, &mut out, &mut back)?;
                    Ok(s)
                });
                match r {
                    Ok(s) => streams.borrow_mut()[conn] = Some(s),
                    Err(e) => errors
                        .borrow_mut()
                        .push(format!("connection {conn} of {conns}: {e}")),
                }
            }
        });
    }
    ev.run();
    let errors = errors.borrow();
    if !errors.is_empty() {
        return Err(summary(&errors));
    }
    let streams = std::mem::take(&mut *streams.borrow_mut());
    Ok(streams
        .into_iter()
        .map(|s| s.expect("every connection was made"))
        .collect())
}

fn summary(errors: &[String]) -> String {
    let mut s = format!("{} error(s):", errors.len());
    for e in errors.iter().take(5) {
        s.push_str("\n  ");
        s.push_str(e);
    }
    s
}

/// What a load run measured.
pub struct LoadReport {
    /// Round trips made and checked.
    pub messages: u64,
    pub elapsed: Duration,
    /// Every round trip's time, in nanoseconds, sorted.
    pub latencies_ns: Vec<u64>,
}

impl LoadReport {
    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
    /// The `p`-th percentile round trip (0 < p <= 100).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies_ns.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies_ns.len() as f64).ceil() as usize;
        Duration::from_nanos(self.latencies_ns[rank.clamp(1, self.latencies_ns.len()) - 1])
    }
}

/// Sends `messages` messages of `size` bytes on every stream (each its own
/// task), checking every echo; the streams are closed at the end.
pub fn load(
    ev: &mut EventLoop,
    streams: Vec<TcpStream>,
    messages: usize,
    size: usize,
    timeout: Duration,
) -> Result<LoadReport, String> {
    let conns = streams.len();
    let latencies = Rc::new(RefCell::new(Vec::<u64>::with_capacity(conns * messages)));
    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    for (conn, s) in streams.into_iter().enumerate() {
        let (latencies, errors) = (latencies.clone(), errors.clone());
        ev.spawn(move |io| {
            io.set_timeout(Some(timeout));
            let (mut out, mut back) = (vec![0u8; size], vec![0u8; size]);
            let mut mine = Vec::with_capacity(messages);
            // Message 0 was connect_all's.
            for i in 1..=messages {
                match round_trip(io, &s, conn, i, &mut out, &mut back) {
                    Ok(rtt) => mine.push(rtt.as_nanos() as u64),
                    Err(e) => {
                        errors.borrow_mut().push(format!("connection {conn}: {e}"));
                        break;
                    }
                }
            }
            latencies.borrow_mut().extend_from_slice(&mine);
        });
    }
    let t0 = Instant::now();
    ev.run();
    let elapsed = t0.elapsed();
    let errors = errors.borrow();
    if !errors.is_empty() {
        return Err(summary(&errors));
    }
    let mut latencies_ns = std::mem::take(&mut *latencies.borrow_mut());
    latencies_ns.sort_unstable();
    Ok(LoadReport {
        messages: latencies_ns.len() as u64,
        elapsed,
        latencies_ns,
    })
}
