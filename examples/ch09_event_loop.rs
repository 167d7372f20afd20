//! Chapter 9: an event loop. Chapter 7's scheduler, with one more kind of
//! system call: "resume me when this file descriptor is ready".
//!
//! Part one traces the loop (examples/evloop/) serving one connection: a
//! server task and a client task on one thread, the lines starting with
//! `loop:` printed by the loop, the others by the tasks. Part two measures
//! what the loop is made of: a switch, the system calls it saves or makes,
//! and one echo round trip through it.

mod evloop;

use std::hint::black_box;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use evloop::{echo, EventLoop};
use swapctx::{Coroutine, Yielder};

/// One connection, traced. The client connects before the loop starts, so
/// that every step has exactly one event that can come next and the trace
/// is the same on every run.
fn trace() -> io::Result<()> {
    println!("part 1: one connection through the loop");
    let mut ev = EventLoop::new()?;
    ev.set_trace(true);
    let listener = ev.listen("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    ev.spawn(move |io| {
        io.set_timeout(Some(Duration::from_secs(10)));
        println!("task 0 (server): accept");
        let (s, _) = io.accept(&listener).expect("the client is queued");
        let mut buf = [0u8; 64];
        loop {
            println!("task 0 (server): read");
            let n = io.read(&s, &mut buf).expect("the client is there");
            if n == 0 {
                println!("task 0 (server): end of stream, closes");
                return;
            }
            let text = String::from_utf8_lossy(&buf[..n]).to_uppercase();
            println!(
                "task 0 (server): got {:?}, answers {text:?}",
                &buf[..n].escape_ascii().to_string()
            );
            io.write_all(&s, text.as_bytes()).expect("the client reads");
        }
    });
    ev.spawn(move |io| {
        let s = io.adopt(client).expect("a connected socket");
        io.set_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 5];
        println!("task 1 (client): write \"hello\", read the answer");
        io.write_all(&s, b"hello").expect("the server reads");
        io.read_exact(&s, &mut buf).expect("the server answers");
        println!("task 1 (client): got {:?}", String::from_utf8_lossy(&buf));
        io.set_timeout(Some(Duration::from_millis(20)));
        println!("task 1 (client): read again, 20 ms at most");
        match io.read(&s, &mut buf) {
            Err(e) => println!(
                "task 1 (client): {:?}: {}",
                e.kind(),
                e.to_string().split(" waiting").next().unwrap_or("")
            ),
            Ok(n) => println!("task 1 (client): unexpected {n} bytes"),
        }
        println!("task 1 (client): close");
    });
    ev.run();
    println!(
        "{} resumes, {} epoll_wait calls, {} panics",
        ev.resumes(),
        ev.epoll_waits(),
        ev.panicked()
    );
    Ok(())
}

/// Nanoseconds per call of `f`, the best of five runs of `n` calls.
fn ns_per(n: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..n {
                f();
            }
            t0.elapsed().as_secs_f64() * 1e9 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn costs() -> io::Result<()> {
    println!("part 2: what the loop is made of (best of 5 runs)");
    // A switch: one coroutine resume and its suspend back.
    let mut co = Coroutine::new(|y: &Yielder<u64, u64>, mut x: u64| loop {
        x = y.suspend(x + 1);
    });
    let switch = ns_per(1_000_000, || {
        let _ = black_box(co.resume(black_box(1)));
    });
    println!("resume + suspend (two switches)       {switch:>9.1} ns");

    // The system call a wait replaces: read() on an empty socket.
    let l = TcpListener::bind("127.0.0.1:0")?;
    let a = TcpStream::connect(l.local_addr()?)?;
    let (_b, _) = l.accept()?;
    a.set_nonblocking(true)?;
    let mut buf = [0u8; 64];
    let eagain = ns_per(200_000, || {
        let r = (&a).read(&mut buf);
        debug_assert!(r.is_err());
        black_box(r.ok());
    });
    println!("read() answering EAGAIN                {eagain:>9.1} ns");

    // SAFETY: epoll_create1 takes no pointers; the result is checked.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor owned by nobody else.
    let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 16];
    let poll = ns_per(200_000, || {
        // SAFETY: `events` has 16 entries for the kernel to fill; the
        // timeout 0 makes the call return at once.
        let n = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), 16, 0) };
        black_box(n);
    });
    println!("epoll_wait(), nothing ready, no wait   {poll:>9.1} ns");

    // One echo round trip through two loops (client here, server on a
    // thread), one connection: two writes, two reads, two wake-ups.
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || -> io::Result<()> {
        let mut ev = EventLoop::new()?;
        let l = ev.listen("127.0.0.1:0")?;
        tx.send(l.local_addr()?)
            .expect("main waits for the address");
        ev.spawn(move |io| echo::serve(io, l, Some(1)).expect("one connection"));
        ev.run();
        Ok(())
    });
    let addr = rx.recv().expect("the server sends its address");
    let mut ev = EventLoop::new()?;
    let t = Duration::from_secs(10);
    let streams = echo::connect_all(&mut ev, addr, 1, 64, t).map_err(io::Error::other)?;
    let r = echo::load(&mut ev, streams, 20_000, 64, t).map_err(io::Error::other)?;
    server.join().expect("the server does not panic")?;
    let rtt = r.percentile(50.0).as_secs_f64() * 1e9;
    println!("echo round trip over loopback (p50)    {rtt:>9.1} ns");
    println!(
        "a round trip costs {:.0} switches' time; a switch is {:.0}% of an EAGAIN read",
        rtt / switch,
        switch / eagain * 100.0
    );
    Ok(())
}

fn main() -> io::Result<()> {
    trace()?;
    println!();
    costs()
}
