//! The event loop of chapter 9 (examples/evloop/): readiness, timeouts, a
//! peer closing mid-message, a panicking connection, refused connections,
//! and a thousand connections echoing through it. Loopback only; every
//! wait has a timeout, so a broken loop fails instead of hanging.

// The loop runs on epoll: Linux only. Elsewhere the file is one test
// listed as ignored, with the reason.
#[cfg(target_os = "linux")]
#[path = "."]
mod linux {
    #[path = "../examples/evloop/mod.rs"]
    mod evloop;

    use std::cell::RefCell;
    use std::io;
    use std::net::SocketAddr;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use evloop::{echo, EventLoop, Io, TcpListener};

    const TIMEOUT: Duration = Duration::from_secs(10);

    /// A listener on a free loopback port of `ev`, and its address.
    fn listener(ev: &EventLoop) -> (TcpListener, SocketAddr) {
        let l = ev.listen("127.0.0.1:0").expect("a loopback port is free");
        let addr = l.local_addr().expect("a bound listener has an address");
        (l, addr)
    }

    type Log = Rc<RefCell<Vec<String>>>;

    fn log(l: &Log, s: impl Into<String>) {
        l.borrow_mut().push(s.into());
    }

    #[test]
    fn a_read_suspends_until_the_peer_writes() {
        let mut ev = EventLoop::new().unwrap();
        let (l, addr) = listener(&ev);
        let events: Log = Rc::default();
        let e = events.clone();
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let (s, _) = io.accept(&l).unwrap();
            log(&e, "server: accepted");
            let mut buf = [0u8; 16];
            let n = io.read(&s, &mut buf).unwrap();
            log(
                &e,
                format!("server: read {:?}", std::str::from_utf8(&buf[..n]).unwrap()),
            );
        });
        let e = events.clone();
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let s = io.connect(addr).unwrap();
            log(&e, "client: connected");
            // The server is suspended in its read meanwhile.
            io.sleep(Duration::from_millis(20));
            log(&e, "client: writes");
            io.write_all(&s, b"hello").unwrap();
        });
        ev.run();
        let events = events.borrow();
        // Which of connect and accept returns first is the kernel's business;
        // the read returns only after the write.
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[2..], ["client: writes", "server: read \"hello\""]);
        assert_eq!(ev.panicked(), 0);
        // The server suspended in accept and in read, the client in connect
        // and in sleep: more resumes than the two starts.
        assert!(ev.resumes() >= 5, "{} resumes", ev.resumes());
        assert!(ev.epoll_waits() >= 1);
    }

    #[test]
    fn sleep_lets_other_tasks_run_and_lasts_at_least_its_time() {
        let mut ev = EventLoop::new().unwrap();
        let events: Log = Rc::default();
        for (name, ms) in [("long", 30u64), ("short", 10)] {
            let e = events.clone();
            ev.spawn(move |io| {
                let t0 = Instant::now();
                io.sleep(Duration::from_millis(ms));
                assert!(t0.elapsed() >= Duration::from_millis(ms));
                log(&e, name);
            });
        }
        ev.run();
        assert_eq!(*events.borrow(), ["short", "long"]);
    }

    #[test]
    fn a_read_with_no_data_times_out_with_an_io_error() {
        let mut ev = EventLoop::new().unwrap();
        let (l, addr) = listener(&ev);
        let result: Rc<RefCell<Option<io::Error>>> = Rc::default();
        let r = result.clone();
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let (s, _) = io.accept(&l).unwrap();
            io.set_timeout(Some(Duration::from_millis(30)));
            let mut buf = [0u8; 8];
            *r.borrow_mut() = io.read(&s, &mut buf).err();
        });
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let s = io.connect(addr).unwrap();
            // Holds the connection open, silent, past the server's timeout.
            io.sleep(Duration::from_millis(100));
            drop(s);
        });
        ev.run();
        let e = result.borrow_mut().take().expect("the read failed");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("to become readable"), "{e}");
    }

    #[test]
    fn a_peer_closing_mid_message_is_an_unexpected_eof() {
        let mut ev = EventLoop::new().unwrap();
        let (l, addr) = listener(&ev);
        let result: Rc<RefCell<Option<io::Error>>> = Rc::default();
        let r = result.clone();
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let (s, _) = io.accept(&l).unwrap();
            let mut message = [0u8; 64];
            *r.borrow_mut() = io.read_exact(&s, &mut message).err();
        });
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let s = io.connect(addr).unwrap();
            io.write_all(&s, &[7; 10]).unwrap();
            // Ten bytes of sixty-four, then the connection closes.
        });
        ev.run();
        let e = result.borrow_mut().take().expect("read_exact failed");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("after 10 of 64 bytes"), "{e}");
    }

    #[test]
    fn a_refused_connection_is_an_io_error() {
        let mut ev = EventLoop::new().unwrap();
        // A port with no listener: bind one, note its address, close it.
        let addr = listener(&ev).1;
        let result: Rc<RefCell<Option<io::Error>>> = Rc::default();
        let r = result.clone();
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            *r.borrow_mut() = io.connect(addr).err();
        });
        ev.run();
        let e = result.borrow_mut().take().expect("connect failed");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    }

    #[test]
    fn one_task_reads_a_socket_while_another_writes_it_and_a_second_reader_is_refused() {
        let mut ev = EventLoop::new().unwrap();
        let (l, addr) = listener(&ev);
        // The server echoes 3 messages of 4 bytes back, then closes.
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let (s, _) = io.accept(&l).unwrap();
            let mut buf = [0u8; 4];
            for _ in 0..3 {
                io.read_exact(&s, &mut buf).unwrap();
                io.write_all(&s, &buf).unwrap();
            }
        });
        let got: Rc<RefCell<Vec<u8>>> = Rc::default();
        let busy: Rc<RefCell<Option<io::Error>>> = Rc::default();
        let (g, b) = (got.clone(), busy.clone());
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let s = Rc::new(io.connect(addr).unwrap());
            // The reader: waits for the echoes.
            let (reader, g) = (s.clone(), g.clone());
            io.spawn(move |io| {
                io.set_timeout(Some(TIMEOUT));
                let mut buf = [0u8; 12];
                io.read_exact(&reader, &mut buf).unwrap();
                g.borrow_mut().extend_from_slice(&buf);
            });
            // A second reader of the same socket, while the first one waits.
            let second = s.clone();
            io.spawn(move |io| {
                let mut buf = [0u8; 1];
                *b.borrow_mut() = io.read(&second, &mut buf).err();
            });
            // This task writes, a message at a time, sleeping in between.
            for m in [b"abcd", b"efgh", b"ijkl"] {
                io.sleep(Duration::from_millis(5));
                io.write_all(&s, m).unwrap();
            }
        });
        ev.run();
        assert_eq!(&got.borrow()[..], b"abcdefghijkl");
        let e = busy
            .borrow_mut()
            .take()
            .expect("the second reader was refused");
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert!(e.to_string().contains("one task at a time may read"), "{e}");
    }

    /// Echoes each message, and panics on "panic".
    fn fragile_echo(io: &Io<'_>, s: &evloop::TcpStream) {
        let mut buf = [0u8; 64];
        loop {
            let n = io.read(s, &mut buf).unwrap();
            if n == 0 {
                return;
            }
            assert_ne!(&buf[..n], b"panic", "this connection asked for a panic");
            io.write_all(s, &buf[..n]).unwrap();
        }
    }

    #[test]
    fn a_panicking_connection_is_dropped_and_closed_and_the_server_goes_on() {
        let mut ev = EventLoop::new().unwrap();
        let (l, addr) = listener(&ev);
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            for _ in 0..2 {
                let (s, _) = io.accept(&l).unwrap();
                io.spawn(move |io| fragile_echo(io, &s));
            }
        });
        let events: Log = Rc::default();
        let e = events.clone();
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let bad = io.connect(addr).unwrap();
            io.write_all(&bad, b"panic").unwrap();
            let mut buf = [0u8; 8];
            // The server's task unwound and its socket closed: end of stream.
            match io.read(&bad, &mut buf) {
                Ok(0) => log(&e, "bad: closed"),
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset => log(&e, "bad: closed"),
                other => log(&e, format!("bad: {other:?}")),
            }
            let good = io.connect(addr).unwrap();
            io.write_all(&good, b"still up").unwrap();
            io.read_exact(&good, &mut buf).unwrap();
            log(&e, format!("good: {}", std::str::from_utf8(&buf).unwrap()));
        });
        ev.run();
        assert_eq!(*events.borrow(), ["bad: closed", "good: still up"]);
        assert_eq!(ev.panicked(), 1);
    }

    #[test]
    fn a_thousand_connections_echo_through_one_loop() {
        const CONNS: usize = 1_000;
        evloop::raise_fd_limit(2 * CONNS as u64 + 64).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            let mut ev = EventLoop::new().unwrap();
            let (l, addr) = listener(&ev);
            tx.send(addr).unwrap();
            ev.spawn(move |io| {
                io.set_timeout(Some(TIMEOUT));
                echo::serve(io, l, Some(CONNS)).unwrap();
            });
            ev.run();
            ev.panicked()
        });
        let addr = rx.recv().unwrap();
        let mut ev = EventLoop::new().unwrap();
        let streams = echo::connect_all(&mut ev, addr, CONNS, 100, TIMEOUT).unwrap();
        assert_eq!(streams.len(), CONNS);
        let report = echo::load(&mut ev, streams, 5, 100, TIMEOUT).unwrap();
        assert_eq!(report.messages, 5 * CONNS as u64);
        assert_eq!(ev.panicked(), 0);
        // Every client closed: every server task saw the end of its stream.
        assert_eq!(server.join().unwrap(), 0);
    }

    #[test]
    fn the_timers_of_waits_that_ended_do_not_pile_up() {
        let mut ev = EventLoop::new().unwrap();
        let (l, addr) = listener(&ev);
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let (s, _) = io.accept(&l).unwrap();
            echo::echo(io, &s).unwrap();
        });
        ev.spawn(move |io| {
            io.set_timeout(Some(TIMEOUT));
            let s = io.connect(addr).unwrap();
            let mut buf = [0u8; 8];
            // Each message makes both tasks wait with a 10 s deadline, and
            // each wait ends long before it.
            for i in 0..1_000u64 {
                io.write_all(&s, &i.to_le_bytes()).unwrap();
                io.read_exact(&s, &mut buf).unwrap();
                assert_eq!(u64::from_le_bytes(buf), i);
            }
        });
        ev.run();
        // About 2,000 deadlines went into the heap; what is left is bounded by
        // the compaction (2 per live task + 64), not by the number of waits.
        let left = ev.pending_timers();
        assert!(left <= 2 * 2 + 64 + 1, "{left} timers left");
    }

    #[test]
    fn the_fd_limit_error_names_the_limits() {
        let e = evloop::raise_fd_limit(u64::MAX).unwrap_err();
        assert!(e.to_string().contains("hard limit"), "{e}");
        // A need below the current limit changes nothing.
        assert!(evloop::raise_fd_limit(16).unwrap() >= 16);
    }
}

#[cfg(not(target_os = "linux"))]
#[test]
#[ignore = "the event loop (examples/evloop/) runs on epoll: Linux only"]
fn event_loop() {}
