//! Turns a stack overflow on one of our stacks into a clear message and an
//! abort.
//!
//! Every [`Stack`](crate::Stack) registers its guard region here when it is
//! made and removes it when it is dropped. A `SIGSEGV`/`SIGBUS` handler,
//! installed once on an alternate signal stack, decides whether a fault is
//! one of our stacks overflowing:
//!
//! - the faulting address is in a guard region (the usual case: a frame
//!   touched the guard, directly or with a stack probe);
//! - the interrupted stack pointer is in a guard region (any fault), or at
//!   most [`BELOW`] bytes below one and the fault is on an unmapped address
//!   between the stack pointer and the guard: a frame larger than the guard
//!   moved the stack pointer past it (possible only where frames are not
//!   probed, see `Stack::FRAMES_ARE_PROBED`);
//! - the kernel could not push a signal frame (`si_code` `SI_KERNEL`, no
//!   address) while the stack pointer was in a guard region or less than
//!   [`SIGFRAME_ROOM`] bytes above one: a signal arrived on a nearly full
//!   stack, and without this it would be lost.
//!
//! Each prints
//!
//! ```text
//! swapctx: a coroutine has overflowed its stack: fault at 0x7f3a1c3ff8c8 in the guard page 0x7f3a1c3ff000..0x7f3a1c400000 below the stack 0x7f3a1c400000..0x7f3a1c440000 (262144 bytes); make the stack bigger (Stack::new, Coroutine::with_stack)
//! ```
//!
//! (with the stack pointer named in the other two cases) and aborts, the
//! way Rust reports a thread's overflow. Every other fault goes to the
//! handler that was installed before ours (Rust's own overflow report for
//! threads, or a handler of the program's), or, if there was none, ends the
//! process as the default action would: never by a silent return.
//!
//! The registry is read from a signal handler, so readers take no lock: it
//! is a fixed table of buckets, each a doubly linked list of nodes that are
//! never freed (a dropped stack's node is unlinked and reused; nodes are
//! allocated 1024 at a time). A node sits in the bucket of the 64 KiB
//! granule that holds the last byte of its guard region; a reader that
//! looks for a guard containing an address visits the granules from that
//! address up to the largest guard registered so far (one or two for
//! one-page guards; about 65 for the 4 MiB guards of targets without stack
//! probes). Writers, who make and drop stacks, serialise on a mutex; both
//! register and unregister are O(1) (a push at the head, an unlink through
//! `prev`), so a million stacks cost a million cheap operations and a node
//! of at most 64 bytes each (the node is also the stack's record, see
//! `Stack`). Only the reader walks chains, and only when a fault happens.
//!
//! A reader racing a writer on another thread may miss that thread's
//! change, never a stack that is in use by the faulting thread: that stack
//! cannot be dropped while it runs, and a reader that is led off its chain
//! by a node that was unlinked and reused in another bucket notices (the
//! node's key hashes elsewhere) and starts again.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use crate::stack::StackData;

const BUCKETS: usize = 4096;
const BUCKET_BITS: u32 = 12;
const _: () = assert!(1 << BUCKET_BITS == BUCKETS);

/// A node's key is the 64 KiB granule that holds the last byte of its guard.
const GRANULE_BITS: u32 = 16;

/// How far below a guard region the interrupted stack pointer may be for a
/// fault to count as that stack's overflow (see the module docs). Small on
/// purpose: further down lie other mappings, a thread's stack among them,
/// whose own faults are not ours.
pub(crate) const BELOW: usize = 64 * 1024;

/// How far above a guard region the stack pointer may be when the kernel
/// fails to push a signal frame: a signal frame is a few KiB (x86_64 with
/// AVX-512 about 3.5 KiB, more with AMX or SVE state); 64 KiB covers them.
pub(crate) const SIGFRAME_ROOM: usize = 64 * 1024;

/// `si_code` for a signal the kernel sends itself, such as the `SIGSEGV`
/// that replaces a signal whose frame could not be pushed (`<asm/siginfo.h>`;
/// not in every libc release).
const SI_KERNEL: libc::c_int = 0x80;

/// `si_code` of a `SIGSEGV` on an address that is not mapped.
const SEGV_MAPERR: libc::c_int = 1;

/// Nodes allocated at a time.
const SLAB: usize = 1024;

struct Node {
    /// Lowest address of the guard region, 0 when unused.
    guard_lo: AtomicUsize,
    /// End of the guard region: the usable stack's lowest address. The key.
    guard_hi: AtomicUsize,
    /// Highest address of the usable stack.
    stack_hi: AtomicUsize,
    /// The next node in the bucket; followed by readers.
    next: AtomicPtr<Node>,
    /// The previous node in the bucket, null for the first; writers only.
    prev: AtomicPtr<Node>,
    /// What the registered stack keeps out of line; the handler never
    /// reads it (see `Stack`: the node is the stack's record, so that the
    /// `Stack` handle itself is two words).
    data: StackData,
}

// As the module documentation says.
const _: () = assert!(core::mem::size_of::<Node>() <= 64);

impl Node {
    const fn unused() -> Node {
        Node {
            guard_lo: AtomicUsize::new(0),
            guard_hi: AtomicUsize::new(0),
            stack_hi: AtomicUsize::new(0),
            next: AtomicPtr::new(ptr::null_mut()),
            prev: AtomicPtr::new(ptr::null_mut()),
            data: StackData::new(),
        }
    }
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicPtr<Node> = AtomicPtr::new(ptr::null_mut());
static TABLE: [AtomicPtr<Node>; BUCKETS] = [EMPTY; BUCKETS];

/// Registered stacks, to bound a reader's walk.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The largest guard region ever registered, to bound a reader's search.
static MAX_GUARD: AtomicUsize = AtomicUsize::new(0);

/// Unlinked nodes, ready for reuse. Also serialises every writer.
struct FreeList(Vec<*mut Node>);
// SAFETY: the pointers are leaked `Node`s that live forever and whose
// fields are atomics; they are only handed out under the mutex.
unsafe impl Send for FreeList {}
static WRITERS: Mutex<FreeList> = Mutex::new(FreeList(Vec::new()));

/// The granule of a guard region that ends at `guard_hi`.
fn granule_of(guard_hi: usize) -> usize {
    (guard_hi - 1) >> GRANULE_BITS
}

fn bucket_index(granule: usize) -> usize {
    // Fibonacci hashing spreads neighbouring granules over the table.
    granule.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> (usize::BITS - BUCKET_BITS)
}

fn bucket(guard_hi: usize) -> &'static AtomicPtr<Node> {
    &TABLE[bucket_index(granule_of(guard_hi)) % BUCKETS]
}

/// A registration; give it back to [`unregister`].
#[derive(Debug)]
pub(crate) struct Registration(ptr::NonNull<Node>);

// SAFETY: the node is a leaked, atomics-only `Node`; the registration only
// identifies it.
unsafe impl Send for Registration {}
// SAFETY: as above; a shared registration offers no access at all.
unsafe impl Sync for Registration {}

impl Registration {
    /// The end of the registered guard region: the usable stack's lowest
    /// address. Fixed while registered.
    #[inline]
    pub(crate) fn guard_hi(&self) -> usize {
        // SAFETY: registrations point at leaked nodes.
        unsafe { self.0.as_ref() }.guard_hi.load(Ordering::Relaxed)
    }

    /// The start of the registered guard region. Fixed while registered.
    #[inline]
    pub(crate) fn guard_lo(&self) -> usize {
        // SAFETY: registrations point at leaked nodes.
        unsafe { self.0.as_ref() }.guard_lo.load(Ordering::Relaxed)
    }

    /// The registered stack's out-of-line fields.
    #[inline]
    pub(crate) fn data(&self) -> &StackData {
        // SAFETY: registrations point at leaked nodes, which live forever;
        // the node is not reused before this registration is given back.
        &unsafe { self.0.as_ref() }.data
    }
}

/// Records that `[guard_lo, guard_hi)` is the guard region of the stack
/// whose usable part is `[guard_hi, stack_hi)`, and makes sure the handler
/// is installed.
pub(crate) fn register(guard_lo: usize, guard_hi: usize, stack_hi: usize) -> Registration {
    debug_assert!(0 < guard_lo && guard_lo < guard_hi && guard_hi < stack_hi);
    install_handler();
    let mut free = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    if free.0.is_empty() {
        let slab: &'static mut [Node] =
            Box::leak((0..SLAB).map(|_| Node::unused()).collect::<Box<[Node]>>());
        free.0.reserve(SLAB);
        // Reversed, so that nodes are handed out in address order.
        free.0.extend(slab.iter_mut().rev().map(|n| n as *mut Node));
    }
    let node = free.0.pop().expect("a free node");
    // SAFETY: `node` is a leaked Node that no bucket links to (fresh or
    // unlinked), and we hold the writers' lock.
    let n = unsafe { &*node };
    // Before the node is linked: a reader that finds it searches far enough.
    MAX_GUARD.fetch_max(guard_hi - guard_lo, Ordering::Relaxed);
    n.stack_hi.store(stack_hi, Ordering::Relaxed);
    n.guard_hi.store(guard_hi, Ordering::Relaxed);
    n.guard_lo.store(guard_lo, Ordering::Relaxed);
    let head = bucket(guard_hi);
    let first = head.load(Ordering::Relaxed);
    n.prev.store(ptr::null_mut(), Ordering::Relaxed);
    // Release: a reader that follows this `next` sees the new key first
    // (how a reader detects a node reused from another bucket).
    n.next.store(first, Ordering::Release);
    if !first.is_null() {
        // SAFETY: linked nodes are leaked, live Nodes.
        unsafe { &*first }.prev.store(node, Ordering::Relaxed);
    }
    // Release: a reader that sees the node sees its fields.
    head.store(node, Ordering::Release);
    LIVE.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `node` came from the free list of leaked, non-null nodes.
    Registration(unsafe { ptr::NonNull::new_unchecked(node) })
}

/// Removes a registration made by [`register`].
pub(crate) fn unregister(reg: Registration) {
    let mut free = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: registrations point at leaked nodes, linked in their bucket.
    let n = unsafe { reg.0.as_ref() };
    let prev = n.prev.load(Ordering::Relaxed);
    let next = n.next.load(Ordering::Relaxed);
    // Readers on this node still follow its `next`, which stays.
    let link = if prev.is_null() {
        bucket(n.guard_hi.load(Ordering::Relaxed))
    } else {
        // SAFETY: linked nodes are leaked, live Nodes.
        unsafe { &(*prev).next }
    };
    link.store(next, Ordering::Release);
    if !next.is_null() {
        // SAFETY: as above.
        unsafe { &*next }.prev.store(prev, Ordering::Relaxed);
    }
    n.guard_lo.store(0, Ordering::Relaxed);
    LIVE.fetch_sub(1, Ordering::Relaxed);
    free.0.push(reg.0.as_ptr());
}

/// A registered stack, as the handler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guarded {
    guard_lo: usize,
    guard_hi: usize,
    stack_hi: usize,
}

/// The registered stack whose guard region, widened by `below` bytes
/// downwards and `above` bytes upwards, contains `addr`; the one whose
/// guard is nearest to `addr` if several do. Lock-free.
fn find(addr: usize, below: usize, above: usize) -> Option<Guarded> {
    let max_guard = MAX_GUARD.load(Ordering::Relaxed);
    if max_guard == 0 {
        return None;
    }
    // How far `addr` is from a guard region: 0 inside.
    let distance = |g: &Guarded| {
        if addr < g.guard_lo {
            g.guard_lo - addr
        } else {
            addr.saturating_sub(g.guard_hi - 1)
        }
    };
    // A match has `guard_hi - 1` in `[addr - above, addr + below + max_guard)`.
    let first = granule_of(addr.saturating_sub(above).max(1));
    let last = granule_of(addr.saturating_add(below).saturating_add(max_guard));
    // Enough for any chain that writers leave, with room for their churn.
    let max_steps = 2 * LIVE.load(Ordering::Relaxed) + 1024;
    let mut best: Option<Guarded> = None;
    for granule in first..=last {
        let b = bucket_index(granule);
        let mut found: Option<Guarded> = None;
        'again: for _ in 0..8 {
            found = None;
            let mut cur = TABLE[b % BUCKETS].load(Ordering::Acquire);
            let mut steps = 0;
            while !cur.is_null() && steps < max_steps {
                steps += 1;
                // SAFETY: linked nodes are never freed.
                let n = unsafe { &*cur };
                let next = n.next.load(Ordering::Acquire);
                let lo = n.guard_lo.load(Ordering::Relaxed);
                let hi = n.guard_hi.load(Ordering::Relaxed);
                if lo != 0 && bucket_index(granule_of(hi)) != b {
                    continue 'again; // reused elsewhere: we left our chain
                }
                if lo != 0 && lo.saturating_sub(below) <= addr && addr < hi.saturating_add(above) {
                    let g = Guarded {
                        guard_lo: lo,
                        guard_hi: hi,
                        stack_hi: n.stack_hi.load(Ordering::Relaxed),
                    };
                    if found.map_or(true, |f| distance(&g) < distance(&f)) {
                        found = Some(g);
                    }
                }
                cur = next;
            }
            break;
        }
        if let Some(g) = found {
            if best.map_or(true, |b| distance(&g) < distance(&b)) {
                best = Some(g);
            }
        }
    }
    best
}

/// The guard region that contains `addr`, if any.
fn lookup(addr: usize) -> Option<Guarded> {
    find(addr, 0, 0)
}

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The page size, read once.
#[inline]
pub(crate) fn page_size() -> usize {
    let p = PAGE_SIZE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let p = if p > 0 { p as usize } else { 4096 };
    PAGE_SIZE.store(p, Ordering::Relaxed);
    p
}

/// An action that was installed before ours, as the handler needs it:
/// published with atomics before our handler can run (see
/// [`install_handler`]), so that a fault on any thread reads a complete
/// record without a data race.
///
/// Two records, each written once: the action read before ours was
/// installed, and, if another thread of the program changed it in between,
/// the one ours replaced. `published` says which is current (`NONE` until
/// the first is written); a reader never sees a record being written.
struct Previous {
    /// `(sa_sigaction, sa_flags)` of each record.
    records: [(AtomicUsize, AtomicUsize); 2],
    published: AtomicUsize,
}

/// `Previous::published` before anything was published.
const NONE: usize = usize::MAX;

impl Previous {
    const fn new() -> Previous {
        Previous {
            records: [
                (AtomicUsize::new(0), AtomicUsize::new(0)),
                (AtomicUsize::new(0), AtomicUsize::new(0)),
            ],
            published: AtomicUsize::new(NONE),
        }
    }

    /// Writes `old` into record `slot` (0, then 1) and makes it current;
    /// the `Release` store pairs with the handler's `Acquire` load.
    fn publish(&self, slot: usize, old: &libc::sigaction) {
        let (handler, flags) = &self.records[slot];
        handler.store(old.sa_sigaction, Ordering::Relaxed);
        flags.store(old.sa_flags as usize, Ordering::Relaxed);
        self.published.store(slot, Ordering::Release);
    }

    /// `(handler, flags)` of the current record; `SIG_DFL` if none was
    /// published (cannot happen: ours is installed after the first).
    fn read(&self) -> (usize, libc::c_int) {
        match self.published.load(Ordering::Acquire) {
            NONE => (libc::SIG_DFL, 0),
            slot => {
                let (handler, flags) = &self.records[slot];
                (
                    handler.load(Ordering::Relaxed),
                    flags.load(Ordering::Relaxed) as libc::c_int,
                )
            }
        }
    }
}

static OLD_SEGV: Previous = Previous::new();
static OLD_BUS: Previous = Previous::new();

fn previous(sig: libc::c_int) -> &'static Previous {
    if sig == libc::SIGBUS {
        &OLD_BUS
    } else {
        &OLD_SEGV
    }
}

const fn zeroed_sigaction() -> libc::sigaction {
    // SAFETY: sigaction is a plain C struct for which all-zeroes is valid
    // (SIG_DFL, empty mask, no flags).
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// Installs the fault handler once per process, and makes sure the calling
/// thread has an alternate signal stack to run it on.
pub(crate) fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: `sigaction` with a null new action only writes `old`;
            // with a new action it installs our handler, which is an
            // `extern "C"` function of the three-argument kind that
            // SA_SIGINFO asks for, and lives for the whole process.
            unsafe {
                // Read the previous action and publish it *before* ours is
                // installed: Linux installs the new action before it copies
                // the old one out (and glibc copies it again after the
                // system call), so a fault on another thread could run our
                // handler before a combined call had reported the old one.
                let mut old = zeroed_sigaction();
                libc::sigaction(sig, ptr::null(), &mut old);
                previous(sig).publish(0, &old);
                let mut action = zeroed_sigaction();
                action.sa_sigaction = handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut replaced = zeroed_sigaction();
                libc::sigaction(sig, &action, &mut replaced);
                // Another thread of the program changed the action between
                // the two calls: chain to the one we replaced.
                if replaced.sa_sigaction != old.sa_sigaction {
                    previous(sig).publish(1, &replaced);
                }
            }
        }
    });
    ensure_altstack_once();
}

/// Size of the alternate signal stacks that swapctx makes for threads that
/// have none (Rust's own threads already have one).
const ALTSTACK_SIZE: usize = 64 * 1024;

/// The pthread key that owns the alternate stacks swapctx makes: its
/// destructor disables and unmaps a thread's stack when the thread exits.
/// A pthread key rather than a Rust thread-local because pthread key
/// destructors run after every thread-local destructor, so the alternate
/// stack is still there for an overflow in one of those.
fn altstack_key() -> Option<libc::pthread_key_t> {
    static KEY: AtomicUsize = AtomicUsize::new(0);
    static MADE: AtomicBool = AtomicBool::new(false);
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: creates a key whose destructor is `free_altstack`, an
        // `extern "C"` function that accepts the values we store.
        if unsafe { libc::pthread_key_create(&mut key, Some(free_altstack)) } == 0 {
            KEY.store(key as usize, Ordering::Relaxed);
            MADE.store(true, Ordering::Release);
        }
    });
    MADE.load(Ordering::Acquire)
        .then(|| KEY.load(Ordering::Relaxed) as libc::pthread_key_t)
}

/// The key's destructor: runs on the exiting thread with the mapping that
/// [`ensure_altstack`] installed there.
unsafe extern "C" fn free_altstack(mem: *mut libc::c_void) {
    // SAFETY: `mem` is the live ALTSTACK_SIZE mapping installed as this
    // thread's alternate stack; nothing runs on it now (we are on the
    // thread's own stack), so it is disabled first and then unmapped.
    unsafe {
        let mut current: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(ptr::null(), &mut current);
        if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_sp == mem {
            let ss = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&ss, ptr::null_mut());
        }
        libc::munmap(mem, ALTSTACK_SIZE);
    }
}

std::thread_local! {
    static ALTSTACK_CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// Destroyed with the thread's other thread-locals. Rust frees a spawned
/// thread's own alternate signal stack just before those destructors run,
/// so when this one runs, the thread gets one of swapctx's again, for the
/// destructors that run after it (an overflow there then still gets the
/// message; see `docs/reliability.md` for the order).
struct ThreadExit;

impl Drop for ThreadExit {
    fn drop(&mut self) {
        let _ = ALTSTACK_CHECKED.try_with(|done| done.set(true));
        ensure_altstack();
    }
}

std::thread_local! {
    static THREAD_EXIT: ThreadExit = const { ThreadExit };
}

/// [`ensure_altstack`] once per thread: cheap enough for every coroutine
/// creation and every C API switch (a thread-local flag, no system call
/// after the first).
#[inline]
pub(crate) fn ensure_altstack_once() {
    // A const-initialised Cell without a destructor: `with` is a plain
    // thread-local load and never fails.
    ALTSTACK_CHECKED.with(|done| {
        if !done.get() {
            done.set(true);
            first_use_on_this_thread();
        }
    });
}

#[cold]
#[inline(never)]
fn first_use_on_this_thread() {
    ensure_altstack();
    // Registers the destructor that re-checks at thread exit (fails only
    // when called from a thread-local destructor already: nothing to do).
    let _ = THREAD_EXIT.try_with(|_| ());
}

/// Gives the calling thread an alternate signal stack if it has none, so
/// that the handler can run when the current stack is exhausted.
pub(crate) fn ensure_altstack() {
    // SAFETY: querying with a null new stack only writes `old`.
    let mut old: libc::stack_t = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::sigaltstack(ptr::null(), &mut old) } != 0 {
        return;
    }
    if old.ss_flags & libc::SS_DISABLE == 0 {
        return; // already has one (Rust's threads do)
    }
    let Some(key) = altstack_key() else {
        return; // nothing could free it: no alternate stack then
    };
    // SAFETY: a fresh anonymous private mapping; checked below.
    let mem = unsafe {
        libc::mmap(
            ptr::null_mut(),
            ALTSTACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mem == libc::MAP_FAILED {
        return; // no alternate stack: an overflow then kills without a message
    }
    // SAFETY: reading our own key's value on this thread.
    let stale = unsafe { libc::pthread_getspecific(key) };
    // SAFETY: `key` is ours; the value is handed to `free_altstack` at
    // thread exit.
    if unsafe { libc::pthread_setspecific(key, mem) } != 0 {
        // SAFETY: not installed, so nobody uses it.
        unsafe { libc::munmap(mem, ALTSTACK_SIZE) };
        return;
    }
    if !stale.is_null() {
        // An alternate stack of ours that someone disabled: unused now.
        // SAFETY: our own mapping, no longer installed.
        unsafe { libc::munmap(stale, ALTSTACK_SIZE) };
    }
    let ss = libc::stack_t {
        ss_sp: mem,
        ss_flags: 0,
        ss_size: ALTSTACK_SIZE,
    };
    // SAFETY: `mem` is a live mapping of ALTSTACK_SIZE bytes, owned by the
    // pthread key until the thread exits.
    unsafe { libc::sigaltstack(&ss, ptr::null_mut()) };
}

/// A small, allocation-free writer for the handler's message.
struct Buf {
    bytes: [u8; 512],
    len: usize,
}

impl Buf {
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }
    fn hex(&mut self, v: usize) {
        let mut digits = [0u8; 18];
        digits[0] = b'0';
        digits[1] = b'x';
        let mut n = 2;
        let mut started = false;
        for shift in (0..usize::BITS / 4).rev() {
            let d = (v >> (shift * 4)) & 0xf;
            if d != 0 || started || shift == 0 {
                started = true;
                digits[n] = b"0123456789abcdef"[d];
                n += 1;
            }
        }
        self.push(&digits[..n]);
    }
    fn dec(&mut self, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// What the handler found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    /// The faulting address is in the guard region.
    Fault { addr: usize },
    /// The stack pointer is in or just below the guard region: a frame
    /// moved it there, and a fault at `addr` followed.
    StackPointer { addr: usize, sp: usize },
    /// The kernel could not push a signal frame below `sp`.
    SignalFrame { sp: usize },
}

/// The message for an overflow of the stack guarded by `g`.
fn overflow_message(buf: &mut Buf, what: Overflow, g: Guarded) {
    buf.push(b"swapctx: a coroutine has overflowed its stack: ");
    match what {
        Overflow::Fault { addr } => {
            buf.push(b"fault at ");
            buf.hex(addr);
            buf.push(b" in the guard page");
        }
        Overflow::StackPointer { addr, sp } => {
            buf.push(b"fault at ");
            buf.hex(addr);
            buf.push(b" with the stack pointer at ");
            buf.hex(sp);
            buf.push(if sp < g.guard_lo {
                b" below the guard page".as_slice()
            } else {
                b" in the guard page".as_slice()
            });
        }
        Overflow::SignalFrame { sp } => {
            buf.push(b"no room for a signal frame at the stack pointer ");
            buf.hex(sp);
            buf.push(b" above the guard page");
        }
    }
    if g.guard_hi - g.guard_lo > page_size() {
        buf.push(b"s");
    }
    buf.push(b" ");
    buf.hex(g.guard_lo);
    buf.push(b"..");
    buf.hex(g.guard_hi);
    buf.push(b" below the stack ");
    buf.hex(g.guard_hi);
    buf.push(b"..");
    buf.hex(g.stack_hi);
    buf.push(b" (");
    buf.dec(g.stack_hi - g.guard_hi);
    buf.push(b" bytes); make the stack bigger (Stack::new, Coroutine::with_stack)\n");
}

/// The stack pointer of the interrupted code, from the handler's context.
///
/// # Safety
/// `ctx` must be the `ucontext_t` the kernel passed to an `SA_SIGINFO`
/// handler.
unsafe fn interrupted_sp(ctx: *mut libc::c_void) -> Option<usize> {
    let uc = ctx.cast::<libc::ucontext_t>();
    if uc.is_null() {
        return None;
    }
    // SAFETY: per the contract, a valid ucontext_t.
    let mc = unsafe { &(*uc).uc_mcontext };
    #[cfg(target_arch = "x86_64")]
    return Some(mc.gregs[libc::REG_RSP as usize] as usize);
    #[cfg(target_arch = "aarch64")]
    return Some(mc.sp as usize);
    // x2 is sp in the register file the kernel saves (`__gregs[0]` is pc).
    #[cfg(target_arch = "riscv64")]
    return Some(mc.__gregs[2] as usize);
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )))]
    {
        let _ = mc;
        None
    }
}

/// True for the `si_code`s of a fault, whose `si_addr` is meaningful and
/// whose instruction faults again if the handler returns.
fn is_fault(code: libc::c_int) -> bool {
    code > 0 && code != SI_KERNEL
}

/// Decides whether a signal is one of our stacks overflowing (see the
/// module docs for the three cases).
fn classify(code: libc::c_int, addr: usize, sp: Option<usize>) -> Option<(Overflow, Guarded)> {
    if is_fault(code) {
        if let Some(g) = lookup(addr) {
            return Some((Overflow::Fault { addr }, g));
        }
    }
    let sp = sp?;
    if code == SI_KERNEL {
        let g = find(sp, 0, SIGFRAME_ROOM)?;
        return Some((Overflow::SignalFrame { sp }, g));
    }
    if !is_fault(code) {
        return None; // sent by a process (kill, raise): not an overflow
    }
    let g = find(sp, BELOW, 0)?;
    // In the guard: any fault. Below it: a fault on an unmapped address
    // between the stack pointer and the guard, where a frame that jumped
    // the guard writes (an inaccessible page there is some other stack's
    // guard, whose overflow is not ours).
    let ours = sp >= g.guard_lo
        || (code == SEGV_MAPERR && addr >= sp.saturating_sub(BELOW) && addr < g.guard_lo);
    ours.then_some((Overflow::StackPointer { addr, sp }, g))
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV/SIGBUS.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    // SAFETY: the kernel passes the interrupted context to an SA_SIGINFO
    // handler.
    let sp = unsafe { interrupted_sp(ctx) };
    if let Some((what, g)) = classify(code, addr, sp) {
        let mut buf = Buf {
            bytes: [0; 512],
            len: 0,
        };
        overflow_message(&mut buf, what, g);
        // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer
        // is a live local.
        unsafe {
            libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
            libc::abort();
        }
    }
    // Not ours: hand it to whoever was there before.
    let (old, flags) = previous(sig).read();
    if old == libc::SIG_DFL || (old == libc::SIG_IGN && (is_fault(code) || code == SI_KERNEL)) {
        // A fault cannot be ignored (the kernel would not let it be).
        die_by_default(sig, code);
    } else if old == libc::SIG_IGN {
        // A SIGSEGV sent by a process, which the program ignores.
    } else if flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous owner installed this three-argument handler
        // for this signal; we call it as the kernel would have.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                core::mem::transmute(old);
            f(sig, info, ctx);
        }
    } else {
        // SAFETY: a one-argument handler installed by the previous owner.
        unsafe {
            let f: extern "C" fn(libc::c_int) = core::mem::transmute(old);
            f(sig);
        }
    }
    if !is_fault(code) && old != libc::SIG_IGN {
        // Not a fault (SI_KERNEL: a signal frame that did not fit, a
        // general protection fault; or sent with kill): nothing happens
        // again when the handler returns. If the handler we chained to gave
        // up (Rust's resets the default action and returns, expecting a
        // fault to repeat), end the process as that default would.
        let mut now = zeroed_sigaction();
        // SAFETY: a query only.
        unsafe { libc::sigaction(sig, ptr::null(), &mut now) };
        if now.sa_sigaction == libc::SIG_DFL {
            die_by_default(sig, code);
        }
    }
}

/// Ends the process as the default action of `sig` would, from inside the
/// handler. A fault is left to happen again: the handler resets the action
/// and returns, the instruction runs again and the kernel applies the
/// default (a core dump, with the same `si_addr`, as without us). Any other
/// `SIGSEGV` would not happen again, so it is raised.
fn die_by_default(sig: libc::c_int, code: libc::c_int) {
    let dfl = zeroed_sigaction();
    // SAFETY: sigaction, sigprocmask, raise and _exit are
    // async-signal-safe; a zeroed sigaction is SIG_DFL with an empty mask.
    unsafe {
        libc::sigaction(sig, &dfl, ptr::null_mut());
        if is_fault(code) {
            return;
        }
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
        libc::raise(sig);
        // Not reached: the default action of SIGSEGV and SIGBUS ends the
        // process. Never return silently if it somehow did not.
        libc::_exit(128 + sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(what: Overflow, g: Guarded) -> String {
        let mut buf = Buf {
            bytes: [0; 512],
            len: 0,
        };
        overflow_message(&mut buf, what, g);
        String::from_utf8(buf.bytes[..buf.len].to_vec()).unwrap()
    }

    fn guarded(guard_lo: usize, guard_hi: usize, stack_hi: usize) -> Guarded {
        Guarded {
            guard_lo,
            guard_hi,
            stack_hi,
        }
    }

    #[test]
    fn message_names_fault_guard_and_bounds() {
        let page = page_size();
        let g = guarded(0x100000 - page, 0x100000, 0x140000);
        assert_eq!(
            text(Overflow::Fault { addr: 0xffff8 }, g),
            format!(
                "swapctx: a coroutine has overflowed its stack: fault at 0xffff8 in the guard page \
                 {:#x}..0x100000 below the stack 0x100000..0x140000 (262144 bytes); make the stack \
                 bigger (Stack::new, Coroutine::with_stack)\n",
                0x100000 - page
            )
        );
    }

    #[test]
    fn messages_name_the_stack_pointer_when_it_decided() {
        let g = guarded(0x100000, 0x200000, 0x240000);
        let below = text(
            Overflow::StackPointer {
                addr: 0xf0000,
                sp: 0xf8000,
            },
            g,
        );
        assert!(
            below.contains(
                "fault at 0xf0000 with the stack pointer at 0xf8000 below the guard pages \
                 0x100000..0x200000 below the stack 0x200000..0x240000 (262144 bytes)"
            ),
            "{below}"
        );
        let frame = text(Overflow::SignalFrame { sp: 0x200100 }, g);
        assert!(
            frame.contains(
                "no room for a signal frame at the stack pointer 0x200100 above the guard pages \
                 0x100000..0x200000 below the stack 0x200000..0x240000"
            ),
            "{frame}"
        );
        for t in [below, frame] {
            assert!(t.starts_with("swapctx: a coroutine has overflowed its stack: "));
            assert!(t.ends_with("make the stack bigger (Stack::new, Coroutine::with_stack)\n"));
        }
    }

    #[test]
    fn lookup_finds_registered_guards_only() {
        let page = page_size();
        // Addresses that are never mapped: only the registry is consulted.
        let lo = 0x7000_0000_0000usize;
        let reg = register(lo, lo + page, lo + 17 * page);
        let g = Some(guarded(lo, lo + page, lo + 17 * page));
        assert_eq!(lookup(lo + 8), g);
        assert_eq!(lookup(lo + page - 1), g);
        assert_eq!(lookup(lo + page), None);
        assert_eq!(lookup(lo - 1), None);
        unregister(reg);
        assert_eq!(lookup(lo + 8), None);
    }

    #[test]
    fn large_guards_are_found_from_every_page() {
        let page = page_size();
        let lo = 0x7100_0000_0000usize;
        let hi = lo + (4 << 20) + (64 << 10);
        let reg = register(lo, hi, hi + 16 * page);
        let g = Some(guarded(lo, hi, hi + 16 * page));
        for addr in (lo..hi).step_by(page) {
            assert_eq!(lookup(addr), g, "{addr:#x}");
            assert_eq!(lookup(addr + page - 1), g, "{addr:#x}");
        }
        assert_eq!(lookup(lo - 1), None);
        assert_eq!(lookup(hi), None);
        unregister(reg);
        assert_eq!(lookup(lo), None);
    }

    #[test]
    fn the_stack_pointer_decides_only_near_a_guard() {
        let page = page_size();
        let lo = 0x7200_0000_0000usize;
        let hi = lo + 16 * page;
        let top = hi + 64 * page;
        let reg = register(lo, hi, top);
        let g = guarded(lo, hi, top);
        let maperr = SEGV_MAPERR;
        // In the guard: ours, wherever the fault.
        assert_eq!(
            classify(maperr, 0x10, Some(lo + 8)),
            Some((
                Overflow::StackPointer {
                    addr: 0x10,
                    sp: lo + 8
                },
                g
            ))
        );
        // Just below it, with the fault between the stack pointer and the
        // guard: a frame jumped the guard.
        let sp = lo - 4 * page;
        assert_eq!(
            classify(maperr, sp + 64, Some(sp)),
            Some((Overflow::StackPointer { addr: sp + 64, sp }, g))
        );
        // Just below, but a fault elsewhere (a null pointer), or on an
        // inaccessible page (another stack's guard): not ours.
        assert_eq!(classify(maperr, 0x10, Some(sp)), None);
        assert_eq!(classify(2, sp - 64, Some(sp)), None);
        // Far below, or in the usable stack: not ours.
        assert_eq!(
            classify(maperr, lo - BELOW - 64, Some(lo - BELOW - 128)),
            None
        );
        assert_eq!(classify(maperr, 0x10, Some(hi + 8)), None);
        // No room for a signal frame just above the guard: ours; far above,
        // or sent by a process: not ours.
        assert_eq!(
            classify(SI_KERNEL, 0, Some(hi + 512)),
            Some((Overflow::SignalFrame { sp: hi + 512 }, g))
        );
        assert_eq!(classify(SI_KERNEL, 0, Some(hi + SIGFRAME_ROOM + 8)), None);
        assert_eq!(classify(libc::SI_USER, 0, Some(hi + 512)), None);
        unregister(reg);
        assert_eq!(classify(maperr, 0x10, Some(lo + 8)), None);
    }

    #[test]
    fn the_previous_action_is_read_whole_and_latest() {
        let prev = Previous::new();
        assert_eq!(prev.read(), (libc::SIG_DFL, 0));
        let mut first = zeroed_sigaction();
        first.sa_sigaction = 0x1000;
        first.sa_flags = libc::SA_SIGINFO;
        prev.publish(0, &first);
        assert_eq!(prev.read(), (0x1000, libc::SA_SIGINFO));
        let mut replaced = zeroed_sigaction();
        replaced.sa_sigaction = 0x2000;
        prev.publish(1, &replaced);
        assert_eq!(prev.read(), (0x2000, 0));
    }

    #[test]
    fn unlinking_from_the_middle_of_a_chain_keeps_the_others() {
        let page = page_size();
        // Many guards, several per bucket, removed in a scrambled order.
        let base = 0x6000_0000_0000usize;
        let n = 3 * BUCKETS;
        let mut regs: Vec<Option<Registration>> = (0..n)
            .map(|i| {
                let lo = base + i * 4 * page;
                Some(register(lo, lo + page, lo + 4 * page))
            })
            .collect();
        for k in 0..n {
            let i = (k * 7919) % n;
            unregister(regs[i].take().unwrap());
            if k % 97 == 0 {
                for (j, reg) in regs.iter().enumerate() {
                    let lo = base + j * 4 * page;
                    assert_eq!(lookup(lo + 1).is_some(), reg.is_some(), "guard {j}");
                }
            }
        }
        assert_eq!(lookup(base + 1), None);
    }
}
