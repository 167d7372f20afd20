//! Turns a hit on a stack's guard page into a clear message and an abort.
//!
//! Every [`Stack`](crate::Stack) registers its guard page here when it is
//! made and removes it when it is dropped. A `SIGSEGV`/`SIGBUS` handler,
//! installed once on an alternate signal stack, looks the faulting address
//! up: a hit on one of our guard pages prints
//!
//! ```text
//! swapctx: a coroutine has overflowed its stack: fault at 0x7f3a1c3ff8c8 in the guard page below the stack 0x7f3a1c400000..0x7f3a1c440000 (262144 bytes); make the stack bigger (Stack::new, Coroutine::with_stack)
//! ```
//!
//! and aborts, the way Rust reports a thread's overflow. Every other fault
//! goes to the handler that was installed before ours (Rust's own overflow
//! report for threads, or a handler of the program's), or, if there was
//! none, to the default action.
//!
//! The registry is read from a signal handler, so readers take no lock: it
//! is a fixed table of buckets, each a doubly linked list of nodes that are
//! never freed (a dropped stack's node is unlinked and reused; nodes are
//! allocated 1024 at a time). Writers, who make and drop stacks, serialise
//! on a mutex; both register and unregister are O(1) (a push at the head,
//! an unlink through `prev`), so a million stacks cost a million cheap
//! operations and a node of at most 64 bytes each (the node is also the
//! stack's record, see `Stack`). Only the reader walks a chain: a fault's
//! lookup, which at a million stacks visits about 250 nodes, once.
//!
//! A reader racing a writer on another thread may miss that thread's
//! change, never a stack that is in use by the faulting thread: that stack
//! cannot be dropped while it runs, and a reader that is led off its chain
//! by a node that was unlinked and reused in another bucket notices (the
//! node's key hashes elsewhere) and starts again.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use crate::stack::StackData;

const BUCKETS: usize = 4096;
const BUCKET_BITS: u32 = 12;
const _: () = assert!(1 << BUCKET_BITS == BUCKETS);

/// Nodes allocated at a time.
const SLAB: usize = 1024;

struct Node {
    /// Lowest address of the guard page (the key), 0 when unused.
    guard_lo: AtomicUsize,
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

/// Unlinked nodes, ready for reuse. Also serialises every writer.
struct FreeList(Vec<*mut Node>);
// SAFETY: the pointers are leaked `Node`s that live forever and whose
// fields are atomics; they are only handed out under the mutex.
unsafe impl Send for FreeList {}
static WRITERS: Mutex<FreeList> = Mutex::new(FreeList(Vec::new()));

fn bucket_index(guard_lo: usize) -> usize {
    let page = guard_lo >> 12;
    // Fibonacci hashing spreads neighbouring pages over the table.
    page.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> (usize::BITS - BUCKET_BITS)
}

fn bucket(guard_lo: usize) -> &'static AtomicPtr<Node> {
    &TABLE[bucket_index(guard_lo) % BUCKETS]
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
    /// The end of the registered guard page: the usable stack's lowest
    /// address. Fixed while registered.
    #[inline]
    pub(crate) fn guard_hi(&self) -> usize {
        // SAFETY: registrations point at leaked nodes.
        unsafe { self.0.as_ref() }.guard_hi.load(Ordering::Relaxed)
    }

    /// The registered stack's out-of-line fields.
    #[inline]
    pub(crate) fn data(&self) -> &StackData {
        // SAFETY: registrations point at leaked nodes, which live forever;
        // the node is not reused before this registration is given back.
        &unsafe { self.0.as_ref() }.data
    }
}

/// Records that `[guard_lo, guard_hi)` is the guard page of the stack whose
/// usable part ends at `stack_hi`, and makes sure the handler is installed.
pub(crate) fn register(guard_lo: usize, guard_hi: usize, stack_hi: usize) -> Registration {
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
    n.guard_hi.store(guard_hi, Ordering::Relaxed);
    n.stack_hi.store(stack_hi, Ordering::Relaxed);
    n.guard_lo.store(guard_lo, Ordering::Relaxed);
    let head = bucket(guard_lo);
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
        bucket(n.guard_lo.load(Ordering::Relaxed))
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

/// The guard page and stack that contain `addr`, if `addr` is in one of
/// our guard pages: `(guard_lo, guard_hi, stack_hi)`. Lock-free.
fn lookup(addr: usize) -> Option<(usize, usize, usize)> {
    let page = addr & !(page_size() - 1);
    let b = bucket_index(page);
    // Enough for any chain that writers leave, with room for their churn.
    let max_steps = 2 * LIVE.load(Ordering::Relaxed) + 1024;
    'again: for _ in 0..8 {
        let mut cur = TABLE[b % BUCKETS].load(Ordering::Acquire);
        let mut steps = 0;
        while !cur.is_null() && steps < max_steps {
            steps += 1;
            // SAFETY: linked nodes are never freed.
            let n = unsafe { &*cur };
            let next = n.next.load(Ordering::Acquire);
            let lo = n.guard_lo.load(Ordering::Relaxed);
            let hi = n.guard_hi.load(Ordering::Relaxed);
            if lo != 0 && lo <= addr && addr < hi {
                return Some((lo, hi, n.stack_hi.load(Ordering::Relaxed)));
            }
            if lo != 0 && bucket_index(lo) != b {
                continue 'again; // reused elsewhere: we left our chain
            }
            cur = next;
        }
        return None;
    }
    None
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

// The actions that were installed before ours, for SIGSEGV and SIGBUS.
static mut OLD_SEGV: libc::sigaction = zeroed_sigaction();
static mut OLD_BUS: libc::sigaction = zeroed_sigaction();

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
        // SAFETY: called once; OLD_SEGV/OLD_BUS are written before our
        // handler can run (sigaction installs it after filling them).
        unsafe {
            let mut action: libc::sigaction = zeroed_sigaction();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSEGV, &action, ptr::addr_of_mut!(OLD_SEGV));
            libc::sigaction(libc::SIGBUS, &action, ptr::addr_of_mut!(OLD_BUS));
        }
    });
    ensure_altstack_once();
}

/// Size of the alternate signal stacks that swapctx makes for threads that
/// have none (Rust's own threads already have one).
const ALTSTACK_SIZE: usize = 64 * 1024;

struct AltStack(*mut libc::c_void);

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: runs on the thread that installed this alternate stack,
        // as it exits: first disable it, then unmap it.
        unsafe {
            let ss = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&ss, ptr::null_mut());
            libc::munmap(self.0, ALTSTACK_SIZE);
        }
    }
}

std::thread_local! {
    static ALTSTACK: core::cell::RefCell<Option<AltStack>> = const { core::cell::RefCell::new(None) };
}

std::thread_local! {
    static ALTSTACK_CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// [`ensure_altstack`] once per thread: cheap enough for every coroutine
/// creation (a thread-local flag, no system call after the first).
#[inline]
pub(crate) fn ensure_altstack_once() {
    // A const-initialised Cell without a destructor: `with` is a plain
    // thread-local load and never fails.
    ALTSTACK_CHECKED.with(|done| {
        if !done.get() {
            done.set(true);
            ensure_altstack();
        }
    });
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
    let ss = libc::stack_t {
        ss_sp: mem,
        ss_flags: 0,
        ss_size: ALTSTACK_SIZE,
    };
    // SAFETY: `mem` is a live mapping of ALTSTACK_SIZE bytes, owned by the
    // thread-local below until the thread exits.
    if unsafe { libc::sigaltstack(&ss, ptr::null_mut()) } != 0 {
        // SAFETY: not installed, so nobody uses it.
        unsafe { libc::munmap(mem, ALTSTACK_SIZE) };
        return;
    }
    let _ = ALTSTACK.try_with(|slot| *slot.borrow_mut() = Some(AltStack(mem)));
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

/// The message for a hit at `addr` on the guard `[guard_lo, guard_hi)` of a
/// stack whose usable part is `[guard_hi, stack_hi)`.
fn overflow_message(buf: &mut Buf, addr: usize, guard_lo: usize, guard_hi: usize, stack_hi: usize) {
    buf.push(b"swapctx: a coroutine has overflowed its stack: fault at ");
    buf.hex(addr);
    buf.push(b" in the guard page ");
    buf.hex(guard_lo);
    buf.push(b"..");
    buf.hex(guard_hi);
    buf.push(b" below the stack ");
    buf.hex(guard_hi);
    buf.push(b"..");
    buf.hex(stack_hi);
    buf.push(b" (");
    buf.dec(stack_hi - guard_hi);
    buf.push(b" bytes); make the stack bigger (Stack::new, Coroutine::with_stack)\n");
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV/SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some((guard_lo, guard_hi, stack_hi)) = lookup(addr) {
        let mut buf = Buf {
            bytes: [0; 512],
            len: 0,
        };
        overflow_message(&mut buf, addr, guard_lo, guard_hi, stack_hi);
        // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer
        // is a live local.
        unsafe {
            libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
            libc::abort();
        }
    }
    // Not ours: hand it to whoever was there before.
    // SAFETY: OLD_* were written once, before this handler was installed,
    // and are only read afterwards.
    let old = unsafe {
        if sig == libc::SIGBUS {
            ptr::addr_of!(OLD_BUS).read()
        } else {
            ptr::addr_of!(OLD_SEGV).read()
        }
    };
    if old.sa_sigaction == libc::SIG_DFL || old.sa_sigaction == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the kernel applies it (a core dump, as without us).
        // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask.
        unsafe {
            let dfl = zeroed_sigaction();
            libc::sigaction(sig, &dfl, ptr::null_mut());
        }
    } else if old.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous owner installed this three-argument handler
        // for this signal; we call it as the kernel would have.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                core::mem::transmute(old.sa_sigaction);
            f(sig, info, ctx);
        }
    } else {
        // SAFETY: a one-argument handler installed by the previous owner.
        unsafe {
            let f: extern "C" fn(libc::c_int) = core::mem::transmute(old.sa_sigaction);
            f(sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_fault_guard_and_bounds() {
        let mut buf = Buf {
            bytes: [0; 512],
            len: 0,
        };
        overflow_message(&mut buf, 0x10ff8, 0x10000, 0x11000, 0x51000);
        let text = core::str::from_utf8(&buf.bytes[..buf.len]).unwrap();
        assert_eq!(
            text,
            "swapctx: a coroutine has overflowed its stack: fault at 0x10ff8 in the guard page \
             0x10000..0x11000 below the stack 0x11000..0x51000 (262144 bytes); make the stack \
             bigger (Stack::new, Coroutine::with_stack)\n"
        );
    }

    #[test]
    fn lookup_finds_registered_guards_only() {
        let page = page_size();
        // Addresses that are never mapped: only the registry is consulted.
        let lo = 0x7000_0000_0000usize;
        let reg = register(lo, lo + page, lo + 17 * page);
        assert_eq!(lookup(lo + 8), Some((lo, lo + page, lo + 17 * page)));
        assert_eq!(lookup(lo + page - 1), Some((lo, lo + page, lo + 17 * page)));
        assert_eq!(lookup(lo + page), None);
        assert_eq!(lookup(lo - 1), None);
        unregister(reg);
        assert_eq!(lookup(lo + 8), None);
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
