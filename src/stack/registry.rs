//! The guard registry: every [`Stack`]'s record, found by the address
//! range of its guard region.
//!
//! Every `Stack` registers its guard region here when it is made and
//! removes it when it is dropped. The registry's node is also the stack's
//! record ([`StackData`]: pool link, guard kind, Valgrind id), so that the
//! `Stack` handle itself is two words. The overflow handler
//! (`src/overflow.rs`) reads the registry through [`find`], which returns
//! address ranges ([`GuardRange`]) and nothing of the records.
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
//! of at most 64 bytes each. Only the reader walks chains, and only when a
//! fault happens.
//!
//! A reader racing a writer on another thread may miss that thread's
//! change, never a stack that is in use by the faulting thread: that stack
//! cannot be dropped while it runs, and a reader that is led off its chain
//! by a node that was unlinked and reused in another bucket notices (the
//! node's key hashes elsewhere) and starts again.
//!
//! [`Stack`]: super::Stack

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::StackData;

const BUCKETS: usize = 4096;
const BUCKET_BITS: u32 = 12;
const _: () = assert!(1 << BUCKET_BITS == BUCKETS);

/// A node's key is the 64 KiB granule that holds the last byte of its guard.
const GRANULE_BITS: u32 = 16;

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
    /// What the registered stack keeps out of line; [`find`] never reads
    /// it (the node is the stack's record, so that the `Stack` handle
    /// itself is two words).
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

/// 2^w / φ for the word size w, rounded to odd: the multiplier of Fibonacci
/// hashing. (The 64-bit one cut to 32 bits is not the 32-bit one: its top
/// bits alternate between two halves of the table for neighbouring
/// granules, and chains grow long.)
const FIBONACCI: usize = if usize::BITS == 64 {
    0x9E37_79B9_7F4A_7C15_u64 as usize
} else {
    0x9E37_79B9
};

fn bucket_index(granule: usize) -> usize {
    // Fibonacci hashing spreads neighbouring granules over the table.
    granule.wrapping_mul(FIBONACCI) >> (usize::BITS - BUCKET_BITS)
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
/// whose usable part is `[guard_hi, stack_hi)`, after
/// `crate::before_guard_registered` (which installs the overflow handler).
pub(crate) fn register(guard_lo: usize, guard_hi: usize, stack_hi: usize) -> Registration {
    debug_assert!(0 < guard_lo && guard_lo < guard_hi && guard_hi < stack_hi);
    // What reads the registry on a fault (the overflow handler) is set up
    // first; the crate root knows what that is.
    crate::before_guard_registered();
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

/// A registered stack as address ranges: its guard region
/// `[guard_lo, guard_hi)` and its usable part `[guard_hi, stack_hi)`. All
/// that [`find`] tells about a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GuardRange {
    /// Lowest address of the guard region.
    pub(crate) guard_lo: usize,
    /// End of the guard region: the usable stack's lowest address.
    pub(crate) guard_hi: usize,
    /// One past the usable stack's highest address.
    pub(crate) stack_hi: usize,
}

/// The registered stack whose guard region, widened by `below` bytes
/// downwards and `above` bytes upwards, contains `addr`; the one whose
/// guard is nearest to `addr` if several do. Lock-free.
pub(crate) fn find(addr: usize, below: usize, above: usize) -> Option<GuardRange> {
    let max_guard = MAX_GUARD.load(Ordering::Relaxed);
    if max_guard == 0 {
        return None;
    }
    // How far `addr` is from a guard region: 0 inside.
    let distance = |g: &GuardRange| {
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
    let mut best: Option<GuardRange> = None;
    for granule in first..=last {
        let b = bucket_index(granule);
        let mut found: Option<GuardRange> = None;
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
                    let g = GuardRange {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::page_size;

    /// The guard region that contains `addr`, if any.
    fn lookup(addr: usize) -> Option<GuardRange> {
        find(addr, 0, 0)
    }

    /// Addresses the tests register guards at, never mapped by anything
    /// (only the registry is consulted): high in a 64-bit address space;
    /// with 32-bit pointers, below where Linux (and qemu-user) map
    /// libraries and stacks, above where executables load.
    #[cfg(target_pointer_width = "64")]
    const UNMAPPED: [usize; 3] = [0x7000_0000_0000, 0x7100_0000_0000, 0x6000_0000_0000];
    #[cfg(target_pointer_width = "32")]
    const UNMAPPED: [usize; 3] = [0x2000_0000, 0x2100_0000, 0x2200_0000];

    fn range(guard_lo: usize, guard_hi: usize, stack_hi: usize) -> GuardRange {
        GuardRange {
            guard_lo,
            guard_hi,
            stack_hi,
        }
    }

    #[test]
    fn lookup_finds_registered_guards_only() {
        let page = page_size();
        // Addresses that are never mapped: only the registry is consulted.
        let lo = UNMAPPED[0];
        let reg = register(lo, lo + page, lo + 17 * page);
        let g = Some(range(lo, lo + page, lo + 17 * page));
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
        let lo = UNMAPPED[1];
        let hi = lo + (4 << 20) + (64 << 10);
        let reg = register(lo, hi, hi + 16 * page);
        let g = Some(range(lo, hi, hi + 16 * page));
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
    fn unlinking_from_the_middle_of_a_chain_keeps_the_others() {
        let page = page_size();
        // Many guards, several per bucket, removed in a scrambled order.
        let base = UNMAPPED[2];
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
