//! An event loop on `epoll` where each connection is a `Coroutine`
//! (chapter 9, docs/09-an-event-loop.md).
//!
//! A task's code calls [`Io::read`], [`Io::write_all`], [`Io::accept`],
//! [`Io::connect`] and [`Io::sleep`] as if they blocked. Each first tries
//! the non-blocking system call; when the kernel answers `EAGAIN`, the task
//! *suspends* with a [`Wait`] naming the file descriptor and what it waits
//! for, and the loop resumes it once `epoll` reports that descriptor ready
//! (or its deadline passes). This is chapter 7's scheduler with one more
//! kind of system call: "wake me when fd 12 is readable".
//!
//! ```text
//!   task: read(fd) ─EAGAIN─► suspend(Wait::Fd{fd, Read}) ──► loop: waiters[fd][Read] = task
//!   loop: epoll_wait ─► event for fd ─► waiters[fd][Read].take() ─► resume(task, Wake::Ready)
//!   task: read(fd) again ─► n bytes
//! ```
//!
//! Every socket is registered once, when the loop's API makes it (`accept`,
//! `connect`, `listen`, `adopt`), edge-triggered for reading and writing;
//! closing it removes it from the epoll set, so no wait ever costs an
//! `epoll_ctl`. Edges that come while nobody waits are dropped: a task
//! always tries the system call before it waits, so it cannot miss one.
//!
//! A task that panics is dropped (its stack unwound, so its sockets are
//! closed) and the loop goes on. Loopback IPv4 is all the examples need:
//! [`Io::connect`] takes IPv4 addresses only.
//!
//! Shared by `examples/echo.rs`, `examples/echo_bench.rs`,
//! `examples/ch09_event_loop.rs` and `tests/event_loop.rs` (each includes it
//! as a module), so some items are unused in some of them.
#![allow(dead_code)]

pub mod echo;

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use swapctx::{Coroutine, CoroutineResult, StackPool, Yielder};

/// A task's body: it gets the handle for its I/O.
pub type Body = Box<dyn FnOnce(&Io<'_>)>;

/// Stack size of a task. An echo task touches two pages (its 4 KiB
/// buffer and the frames down to `read`); a panic, whose hook may print a
/// backtrace, needs most: 16 KiB overflowed in tests/event_loop.rs, 24 KiB
/// did not (debug build, `RUST_BACKTRACE=full`). Only the touched pages
/// cost memory, but smaller stacks sit closer together: with thousands of
/// tasks, each resume touches a cold stack, and stacks that share
/// page-table lines cost fewer page walks (at 64 KiB the server used
/// 1.2 times tokio's CPU per message at 1,000 and 10,000 connections).
pub const STACK_SIZE: usize = 32 * 1024;

/// What a task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Read = 0,
    Write = 1,
}

/// A task's request to the loop (the `Yield` type of its coroutine).
pub enum Wait {
    /// Resume me when `fd` is ready for `interest`, or at `deadline`.
    Fd {
        fd: RawFd,
        interest: Interest,
        deadline: Option<Instant>,
    },
    /// Resume me at this instant.
    Sleep(Instant),
}

/// Why the loop resumes a task (the `Input` type of its coroutine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The first resume.
    Start,
    /// The descriptor is ready, or the sleep is over.
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// Another task, this one, already waits on the descriptor for the
    /// same thing: only one of them could be woken.
    Busy(TaskId),
}

type TaskId = usize;

struct Task {
    co: Coroutine<Wake, Wait, ()>,
    /// The number of the task's current wait (unique in the loop; 0 when
    /// it does not wait): a timer with another number is stale.
    seq: u64,
    /// The descriptor the task waits on, and for what, if it does.
    waiting_on: Option<(RawFd, Interest)>,
}

/// What the tasks share with the loop, without a switch: the epoll
/// descriptor (to register the sockets they make) and the bodies of the
/// tasks they spawn.
struct Shared {
    epoll: OwnedFd,
    spawned: RefCell<Vec<Body>>,
    /// `readiness[fd]`: [`READABLE`] and [`WRITABLE`] bits, what the loop
    /// last learnt of each registered descriptor (see [`Io::retry`]).
    readiness: RefCell<Vec<u8>>,
}

const READABLE: u8 = 1;
const WRITABLE: u8 = 2;

fn name(interest: Interest) -> &'static str {
    match interest {
        Interest::Read => "readable",
        Interest::Write => "writable",
    }
}

fn bit(interest: Interest) -> u8 {
    match interest {
        Interest::Read => READABLE,
        Interest::Write => WRITABLE,
    }
}

impl Shared {
    /// `epoll_ctl(ADD)` for a new socket, which may be read and written
    /// (the first call finds out).
    fn register(&self, fd: RawFd, events: u32) -> io::Result<()> {
        register(self.epoll.as_raw_fd(), fd, events)?;
        self.set(fd, READABLE | WRITABLE);
        Ok(())
    }
    fn set(&self, fd: RawFd, bits: u8) {
        let mut r = self.readiness.borrow_mut();
        let slot = fd as usize;
        if r.len() <= slot {
            r.resize(slot + 1, 0);
        }
        r[slot] |= bits;
    }
    fn clear(&self, fd: RawFd, interest: Interest) {
        if let Some(r) = self.readiness.borrow_mut().get_mut(fd as usize) {
            *r &= !bit(interest);
        }
    }
    fn is_ready(&self, fd: RawFd, interest: Interest) -> bool {
        self.readiness
            .borrow()
            .get(fd as usize)
            .is_some_and(|r| r & bit(interest) != 0)
    }
}

/// A task's handle: its yielder, and the loop's shared part.
pub struct Io<'a> {
    y: &'a Yielder<Wake, Wait>,
    shared: &'a Shared,
    timeout: Cell<Option<Duration>>,
}

/// A listening socket registered with the loop.
pub struct TcpListener {
    inner: std::net::TcpListener,
}

/// A connected socket registered with the loop.
pub struct TcpStream {
    inner: std::net::TcpStream,
}

impl TcpListener {
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl TcpStream {
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
    /// The standard library's socket, for what the loop does not wrap
    /// (`set_nodelay`, `shutdown`, ...).
    pub fn std(&self) -> &std::net::TcpStream {
        &self.inner
    }
}

/// `epoll_ctl(ADD)`, edge-triggered, with the descriptor as the event's data.
fn register(epoll: RawFd, fd: RawFd, events: u32) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: events | libc::EPOLLET as u32,
        u64: fd as u64,
    };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call;
    // `epoll` and `fd` are descriptors this process owns (a bad one is an
    // error return, not undefined behaviour).
    let r = unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

const STREAM_EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP) as u32;

/// The events that end a wait for `interest`: readiness, and also hang-ups
/// and errors (the retried call then returns the end of file or the error).
fn wakes(interest: Interest, events: u32) -> bool {
    let always = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
    let wanted = match interest {
        Interest::Read => (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
        Interest::Write => libc::EPOLLOUT as u32,
    };
    events & (wanted | always) != 0
}

impl Io<'_> {
    /// Every later `read`, `read_exact`, `write_all`, `accept` and
    /// `connect` of this task fails with `ErrorKind::TimedOut` if it
    /// waits longer than `timeout` (`None`: wait for ever, the default).
    pub fn set_timeout(&self, timeout: Option<Duration>) {
        self.timeout.set(timeout);
    }

    /// Starts a new task; it runs once this one suspends or ends.
    pub fn spawn(&self, f: impl FnOnce(&Io<'_>) + 'static) {
        self.shared.spawned.borrow_mut().push(Box::new(f));
    }

    fn deadline(&self) -> Option<Instant> {
        self.timeout.get().map(|t| Instant::now() + t)
    }

    /// Suspends until `fd` is ready for `interest` (or `deadline`).
    fn wait(&self, fd: RawFd, interest: Interest, deadline: Option<Instant>) -> io::Result<()> {
        match self.y.suspend(Wait::Fd {
            fd,
            interest,
            deadline,
        }) {
            Wake::Ready => Ok(()),
            Wake::TimedOut => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "timed out after {:?} waiting for fd {fd} to become {}",
                    self.timeout.get().unwrap_or_default(),
                    name(interest)
                ),
            )),
            // (`ErrorKind::ResourceBusy` is newer than the crate's MSRV.)
            Wake::Busy(other) => Err(io::Error::other(format!(
                "task {other} already waits until fd {fd} is {}: one task at a time may \
                 read a socket, and one may write it",
                name(interest)
            ))),
            Wake::Start => unreachable!("a task starts only once"),
        }
    }

    /// Runs `op` until it does not answer `WouldBlock`, suspending until
    /// `fd` is ready between tries.
    ///
    /// The loop keeps what it knows of each descriptor: ready until a call
    /// answers `WouldBlock`, or `drained` says the call emptied the kernel's
    /// buffer (a read shorter than asked for, a write shorter than given:
    /// epoll(7) says so of stream sockets); ready again at the next epoll
    /// event for it. A call on a descriptor known not to be ready suspends
    /// at once, without the system call that would answer `EAGAIN`.
    fn retry<T>(
        &self,
        fd: RawFd,
        interest: Interest,
        mut op: impl FnMut() -> io::Result<T>,
        drained: impl Fn(&T) -> bool,
    ) -> io::Result<T> {
        let mut deadline = None;
        loop {
            if self.shared.is_ready(fd, interest) {
                match op() {
                    Ok(v) => {
                        if drained(&v) {
                            self.shared.clear(fd, interest);
                        }
                        return Ok(v);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.shared.clear(fd, interest)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            // Read the clock only when there is a wait to bound.
            if deadline.is_none() {
                deadline = self.deadline();
            }
            self.wait(fd, interest, deadline)?;
        }
    }

    /// Sleeps for `d`: other tasks run meanwhile.
    pub fn sleep(&self, d: Duration) {
        let wake = self.y.suspend(Wait::Sleep(Instant::now() + d));
        debug_assert_eq!(wake, Wake::Ready);
    }

    /// Binds a listening socket and registers it.
    pub fn listen(&self, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        listen(self.shared, addr)
    }

    /// Waits for a connection.
    pub fn accept(&self, l: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        let fd = l.inner.as_raw_fd();
        let (s, peer) = self.retry(fd, Interest::Read, || l.inner.accept(), |_| false)?;
        Ok((self.adopt(s)?, peer))
    }

    /// Makes a blocking-mode socket the loop's: non-blocking, registered.
    pub fn adopt(&self, s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        self.shared.register(s.as_raw_fd(), STREAM_EVENTS)?;
        Ok(TcpStream { inner: s })
    }

    /// Connects to an IPv4 address without blocking the loop.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let SocketAddr::V4(v4) = addr else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("cannot connect to {addr}: this loop connects to IPv4 addresses only"),
            ));
        };
        // SAFETY: socket() takes no pointers; a negative result is checked.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new socket nobody else owns; the stream closes it.
        let stream = unsafe { std::net::TcpStream::from_raw_fd(fd) };
        self.shared.register(fd, STREAM_EVENTS)?;
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `sin` is a valid sockaddr_in and the length given is its size.
        let r = unsafe {
            libc::connect(
                fd,
                (&sin as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
            // The connection is made (or refused) when the socket becomes
            // writable; SO_ERROR says which.
            let deadline = self.deadline();
            loop {
                self.wait(fd, Interest::Write, deadline)?;
                if let Some(e) = stream.take_error()? {
                    return Err(e);
                }
                if stream.peer_addr().is_ok() {
                    break;
                }
            }
        }
        Ok(TcpStream { inner: stream })
    }

    /// Reads what is there (at least one byte), or 0 at the end of the stream.
    pub fn read(&self, s: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        let fd = s.inner.as_raw_fd();
        self.retry(fd, Interest::Read, || (&s.inner).read(buf), |&n| n < len)
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the peer closes
    /// before.
    pub fn read_exact(&self, s: &TcpStream, mut buf: &mut [u8]) -> io::Result<()> {
        let want = buf.len();
        while !buf.is_empty() {
            match self.read(s, buf)? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the peer closed the connection after {} of {want} bytes",
                            want - buf.len()
                        ),
                    ))
                }
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Writes all of `buf`.
    pub fn write_all(&self, s: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let (fd, len) = (s.inner.as_raw_fd(), buf.len());
            let n = self.retry(fd, Interest::Write, || (&s.inner).write(buf), |&n| n < len)?;
            buf = &buf[n..];
        }
        Ok(())
    }
}

fn listen(shared: &Shared, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let inner = std::net::TcpListener::bind(addr)?;
    inner.set_nonblocking(true)?;
    shared.register(inner.as_raw_fd(), libc::EPOLLIN as u32)?;
    Ok(TcpListener { inner })
}

/// The loop: the tasks, the ready queue, the descriptors waited on and the
/// timers.
pub struct EventLoop {
    /// First, so that suspended tasks are dropped (unwound) before the
    /// rest.
    tasks: Vec<Option<Task>>,
    shared: Rc<Shared>,
    pool: StackPool,
    free: Vec<TaskId>,
    live: usize,
    ready: VecDeque<(TaskId, Wake)>,
    /// `waiters[fd][interest]`: the task suspended until `fd` is ready for
    /// reading (`[0]`) or writing (`[1]`): one task may read a socket
    /// while another writes it.
    waiters: Vec<[Option<TaskId>; 2]>,
    /// (deadline, task, the task's wait number), earliest first.
    timers: BinaryHeap<Reverse<(Instant, TaskId, u64)>>,
    events: Vec<libc::epoll_event>,
    panicked: usize,
    switches: u64,
    epoll_waits: u64,
    /// The last wait number given out.
    last_seq: u64,
    /// Print what the loop does (chapter 9's trace).
    trace: bool,
}

impl EventLoop {
    /// A loop with its own epoll instance and stack pool.
    pub fn new() -> io::Result<EventLoop> {
        // SAFETY: epoll_create1 takes no pointers; a negative result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor nobody else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let pool = StackPool::builder()
            .stack_size(STACK_SIZE)
            .max_idle(1024)
            .build()
            .map_err(|e| io::Error::other(format!("cannot make the stack pool: {e}")))?;
        Ok(EventLoop {
            tasks: Vec::new(),
            shared: Rc::new(Shared {
                epoll,
                spawned: RefCell::new(Vec::new()),
                readiness: RefCell::new(Vec::new()),
            }),
            pool,
            free: Vec::new(),
            live: 0,
            ready: VecDeque::new(),
            waiters: Vec::new(),
            timers: BinaryHeap::new(),
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 1024],
            panicked: 0,
            switches: 0,
            epoll_waits: 0,
            last_seq: 0,
            trace: false,
        })
    }

    /// Binds a listening socket registered with this loop (for a task to
    /// accept on; the listener may be moved into the task).
    pub fn listen(&self, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        listen(&self.shared, addr)
    }

    /// Adds a task; it runs when [`run`](EventLoop::run) does.
    pub fn spawn(&mut self, f: impl FnOnce(&Io<'_>) + 'static) {
        self.spawn_body(Box::new(f));
    }

    fn spawn_body(&mut self, body: Body) {
        let shared = Rc::clone(&self.shared);
        let stack = self
            .pool
            .stack()
            .unwrap_or_else(|e| panic!("cannot map a stack for a new task: {e}"));
        let co = Coroutine::with_stack(stack, move |y: &Yielder<Wake, Wait>, _start: Wake| {
            let io = Io {
                y,
                shared: &shared,
                timeout: Cell::new(None),
            };
            body(&io);
        });
        let task = Task {
            co,
            seq: 0,
            waiting_on: None,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.tasks[id] = Some(task);
                id
            }
            None => {
                self.tasks.push(Some(task));
                self.tasks.len() - 1
            }
        };
        self.live += 1;
        self.ready.push_back((id, Wake::Start));
    }

    /// Prints a line for every wait, wake-up and end of a task.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    /// Tasks that panicked (and were dropped) so far.
    pub fn panicked(&self) -> usize {
        self.panicked
    }

    /// Resumes so far (each is two switches: in, and back out).
    pub fn resumes(&self) -> u64 {
        self.switches
    }

    /// `epoll_wait` calls so far.
    pub fn epoll_waits(&self) -> u64 {
        self.epoll_waits
    }

    /// Runs until every task has returned or panicked.
    pub fn run(&mut self) {
        while self.live > 0 {
            while let Some((id, wake)) = self.ready.pop_front() {
                self.resume(id, wake);
            }
            if self.live == 0 {
                break;
            }
            self.fire_timers(Instant::now());
            if !self.ready.is_empty() {
                continue;
            }
            self.poll();
            self.fire_timers(Instant::now());
        }
    }

    fn resume(&mut self, id: TaskId, wake: Wake) {
        self.last_seq += 1;
        let task = self.tasks[id].as_mut().expect("a ready task exists");
        task.seq = self.last_seq;
        task.waiting_on = None;
        self.switches += 1;
        let co = &mut task.co;
        match panic::catch_unwind(AssertUnwindSafe(|| co.resume(wake))) {
            Ok(CoroutineResult::Yield(wait)) => self.park(id, wait),
            Ok(CoroutineResult::Return(())) => self.finish(id),
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string payload".into());
                eprintln!("event loop: task {id} panicked ({what}); dropped, its sockets closed");
                self.panicked += 1;
                self.finish(id);
            }
        }
        let spawned = std::mem::take(&mut *self.shared.spawned.borrow_mut());
        for body in spawned {
            self.spawn_body(body);
        }
    }

    /// Drops a finished task: its stack goes back to the pool.
    fn finish(&mut self, id: TaskId) {
        if self.trace {
            println!("    loop: task {id} is done");
        }
        self.tasks[id] = None;
        self.free.push(id);
        self.live -= 1;
    }

    fn park(&mut self, id: TaskId, wait: Wait) {
        let task = self.tasks[id].as_mut().expect("a parked task exists");
        match wait {
            Wait::Fd {
                fd,
                interest,
                deadline,
            } => {
                let slot = fd as usize;
                if self.waiters.len() <= slot {
                    self.waiters.resize(slot + 1, [None, None]);
                }
                if let Some(other) = self.waiters[slot][interest as usize] {
                    // Only one of them could be woken by the edge.
                    self.ready.push_back((id, Wake::Busy(other)));
                    return;
                }
                if self.trace {
                    println!(
                        "    loop: task {id} waits until fd {fd} is {}",
                        name(interest)
                    );
                }
                self.waiters[slot][interest as usize] = Some(id);
                task.waiting_on = Some((fd, interest));
                if let Some(d) = deadline {
                    self.timers.push(Reverse((d, id, task.seq)));
                    self.compact_timers();
                }
            }
            Wait::Sleep(until) => {
                if self.trace {
                    println!("    loop: task {id} sleeps");
                }
                self.timers.push(Reverse((until, id, task.seq)))
            }
        }
    }

    /// Drops the stale timers (of waits that epoll ended) once they
    /// outnumber the tasks: with a timeout on every read, a busy task
    /// leaves one behind per message, and they would otherwise stay until
    /// their deadline.
    fn compact_timers(&mut self) {
        if self.timers.len() > 2 * self.live + 64 {
            let tasks = &self.tasks;
            self.timers
                .retain(|&Reverse((_, id, seq))| tasks[id].as_ref().is_some_and(|t| t.seq == seq));
        }
    }

    /// Timers pending, stale ones included.
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Makes ready every task whose deadline has come.
    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, id, seq))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(task) = self.tasks[id].as_mut() else {
                continue;
            };
            if task.seq != seq {
                continue; // that wait ended already
            }
            task.seq = 0; // the wait is over: no other wake-up for it
            match task.waiting_on.take() {
                Some((fd, interest)) => {
                    if self.trace {
                        println!("    loop: timer: task {id} waited too long for fd {fd}");
                    }
                    self.waiters[fd as usize][interest as usize] = None;
                    self.ready.push_back((id, Wake::TimedOut));
                }
                None => {
                    if self.trace {
                        println!("    loop: timer: task {id} wakes up");
                    }
                    self.ready.push_back((id, Wake::Ready))
                }
            }
        }
    }

    /// One `epoll_wait`, until the earliest timer at most.
    fn poll(&mut self) {
        let timeout_ms = match self.timers.peek() {
            None => -1,
            Some(Reverse((at, _, _))) => {
                let d = at.saturating_duration_since(Instant::now());
                // Round up: waking before the deadline would spin.
                d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        // SAFETY: `events` has `len()` initialised entries for the kernel
        // to overwrite; the count it returns is at most that.
        let n = unsafe {
            libc::epoll_wait(
                self.shared.epoll.as_raw_fd(),
                self.events.as_mut_ptr(),
                self.events.len() as i32,
                timeout_ms,
            )
        };
        self.epoll_waits += 1;
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return;
            }
            panic!("epoll_wait failed: {e}");
        }
        for i in 0..n as usize {
            let ev = self.events[i];
            let (fd, events) = (ev.u64 as usize, ev.events);
            let mut bits = 0;
            if wakes(Interest::Read, events) {
                bits |= READABLE;
            }
            if wakes(Interest::Write, events) {
                bits |= WRITABLE;
            }
            self.shared.set(fd as RawFd, bits);
            for interest in [Interest::Read, Interest::Write] {
                if !wakes(interest, events) {
                    continue;
                }
                // Nobody waiting: the task will try the call first anyway.
                let Some(slots) = self.waiters.get_mut(fd) else {
                    continue;
                };
                let Some(id) = slots[interest as usize].take() else {
                    continue;
                };
                if self.trace {
                    println!(
                        "    loop: epoll: fd {fd} is {}: task {id} is ready",
                        name(interest)
                    );
                }
                let task = self.tasks[id].as_mut().expect("a waiting task exists");
                task.waiting_on = None;
                task.seq = 0; // its timer is stale now
                self.ready.push_back((id, Wake::Ready));
            }
        }
    }
}

/// Raises the soft limit on open descriptors to at least `need`, up to the
/// hard limit; an error names both limits if that is not enough.
pub fn raise_fd_limit(need: u64) -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // rlim_t is 32 bits on some targets (i686, armv7), 64 on others.
    #[allow(clippy::useless_conversion)]
    let (cur, max) = (u64::from(lim.rlim_cur), u64::from(lim.rlim_max));
    if cur >= need {
        return Ok(cur);
    }
    if max < need {
        return Err(io::Error::other(format!(
            "{need} open files are needed but the hard limit is {} (soft {}): \
             raise it (ulimit -Hn as root, or /etc/security/limits.conf)",
            lim.rlim_max, lim.rlim_cur
        )));
    }
    let raised = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: `raised` is a valid rlimit; the kernel only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::other(format!(
            "cannot raise the open-file limit from {} to {}: {e}",
            lim.rlim_cur, lim.rlim_max
        )));
    }
    Ok(max)
}
