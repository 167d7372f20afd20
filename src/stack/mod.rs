//! Stacks for contexts and coroutines: `mmap`'d, lazily committed, with a
//! guard page below; and [`StackPool`], which reuses them.
//!
//! ```text
//!   top()    ─►  +---------------------------+  high addresses
//!                |                           |
//!                |   usable stack: size()    |  read/write, committed page
//!                |   bytes, grows downwards  |  by page as it is touched
//!                |                           |  (MAP_NORESERVE)
//!   bottom() ─►  +---------------------------+
//!                |   guard page              |  a touch here is an overflow:
//!                |                           |  a clear message and an abort
//!   mapping  ─►  +---------------------------+  low addresses
//! ```
//!
//! The guard region is one page where rustc probes large frames (x86_64,
//! aarch64, powerpc64, s390x), and 4 MiB + 64 KiB where it does not (riscv64), so that a
//! frame that skips pages still lands in it ([`Stack::FRAMES_ARE_PROBED`],
//! [`Stack::DEFAULT_GUARD_SIZE`], [`Stack::with_guard_size`]). It is made
//! in one of two ways ([`GuardKind`]):
//!
//! - **in place** (`madvise(MADV_GUARD_INSTALL)`, Linux 6.13+): the page
//!   stays part of the stack's one mapping, and the kernel faults on any
//!   access to it (`SIGSEGV`, `SEGV_MAPERR`). A stack costs one mapping,
//!   and neighbouring stacks even merge into one;
//! - **with `mprotect(PROT_NONE)`**, everywhere else: the page becomes a
//!   mapping of its own (`SIGSEGV`, `SEGV_ACCERR` on a touch), so a stack
//!   costs two of the ~65,530 mappings a process may have by default
//!   (`vm.max_map_count`): about 32,000 stacks at most.
//!
//! [`Stack::new`] uses the first where the kernel has it (tested once per
//! process, see [`GuardKind::preferred`]), unless the environment variable
//! `SWAPCTX_GUARD=mprotect` forces the second; [`Stack::new_with`] asks for
//! one kind explicitly. Every stack registers its guard region in the guard
//! registry (`registry.rs`), where the overflow handler (`src/overflow.rs`)
//! looks up the faulting address, so both kinds give the same overflow
//! message.
//!
//! On Windows, stacks are `VirtualAlloc`'d and guarded the way Windows
//! guards a thread's stack (`windows.rs`, a 64 KiB guard region by
//! default), and the handler is a vectored exception handler
//! (`src/overflow_windows.rs`).

mod guard;
#[cfg(unix)]
mod limits;
mod pool;
pub(crate) mod registry;
// Windows: VirtualAlloc'd stacks (`map`, `unmap`, `page_size`, ...).
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use self::windows::page_size;
#[cfg(windows)]
use self::windows::release_usable;
#[cfg(windows)]
pub(crate) use self::windows::teb_of;

use core::ptr;
#[cfg(unix)]
use core::sync::atomic::AtomicUsize;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

pub use guard::GuardKind;
pub use pool::{Release, StackPool, StackPoolBuilder};

use crate::error::{Error, Result};

/// An `mmap`'d stack with a guard page below it.
///
/// Memory is reserved, not committed: the kernel hands out a page the first
/// time it is touched, so a 1 MiB stack that a coroutine uses 3 KiB of
/// costs one or two pages of memory. The guard page turns an overflow into
/// a clear message and an abort instead of silent corruption. Dropping the
/// stack unmaps it, or, for a stack from a [`StackPool`], gives it back to
/// the pool.
///
/// Sizes are rounded up to whole pages; a size below [`Stack::MIN_SIZE`]
/// (but not zero) is rounded up to it.
///
/// # Examples
/// ```
/// use swapctx::Stack;
///
/// let stack = Stack::new(64 * 1024)?;
/// assert_eq!(stack.size(), 64 * 1024);
/// assert_eq!(stack.top() as usize - stack.bottom() as usize, stack.size());
///
/// // Small sizes are rounded up to the minimum, zero is an error.
/// assert_eq!(Stack::new(1)?.size(), Stack::MIN_SIZE);
/// assert!(Stack::new(0).is_err());
/// # Ok::<(), swapctx::Error>(())
/// ```
pub struct Stack {
    /// One past the highest usable byte: the end of the mapping.
    top: *mut u8,
    /// The guard page's entry in the guard registry (`registry.rs`), which
    /// is also the stack's record: the bottom (the guard page's end) and the
    /// [`StackData`]. So a `Stack` is two words: it moves in registers, and
    /// what the hot paths read (the top to lay out a coroutine, the pool
    /// link to give the stack back) is one load away.
    reg: registry::Registration,
}

/// The fields of a [`Stack`] that live in its record (the registry node of
/// its guard page) rather than in the handle. Atomics only because the
/// record is shared memory; every access is `Relaxed` and made by the
/// stack's owner.
pub(crate) struct StackData {
    /// How the guard region was made: a [`GuardKind`] as `u8`.
    kind: AtomicU8,
    /// The pool to give the stack back to, or null: one strong count of an
    /// `Arc` (see `pool.rs`).
    pool: AtomicPtr<pool::Shared>,
    /// What Valgrind was told about this stack (see `tools`).
    #[cfg(feature = "valgrind")]
    tools: AtomicUsize,
}

impl StackData {
    pub(crate) const fn new() -> StackData {
        StackData {
            kind: AtomicU8::new(0),
            pool: AtomicPtr::new(ptr::null_mut()),
            #[cfg(feature = "valgrind")]
            tools: AtomicUsize::new(0),
        }
    }

    fn tools(&self) -> crate::tools::StackId {
        crate::tools::StackId(
            #[cfg(feature = "valgrind")]
            self.tools.load(Ordering::Relaxed),
        )
    }

    fn set_tools(&self, _id: crate::tools::StackId) {
        #[cfg(feature = "valgrind")]
        self.tools.store(_id.0, Ordering::Relaxed);
    }
}

// SAFETY: a Stack owns its mapping and its record outright; nothing in them
// is tied to the thread that made it. A pooled stack's link counts a
// `Shared`, which is `Sync` (its thread-bound part is only touched on the
// pool's own thread, see `pool.rs`).
unsafe impl Send for Stack {}
// SAFETY: `&Stack` only reads the bounds and the record.
unsafe impl Sync for Stack {}

// Two words, so that a `Stack` is passed and returned in registers.
const _: () = assert!(core::mem::size_of::<Stack>() == 2 * core::mem::size_of::<usize>());
const _: () = assert!(core::mem::size_of::<Option<Stack>>() == core::mem::size_of::<Stack>());

impl core::fmt::Debug for Stack {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stack")
            .field("bottom", &self.bottom())
            .field("top", &self.top())
            .field("size", &self.size())
            .field("guard_kind", &self.guard_kind())
            .field("pooled", &self.is_pooled())
            .finish()
    }
}

impl Stack {
    /// The smallest usable size. Smaller non-zero sizes are rounded up to
    /// it: catching and carrying a panic across a switch, and formatting,
    /// need a few KiB of stack, and so does the overflow handler's caller.
    pub const MIN_SIZE: usize = 16 * 1024;

    /// The size [`Coroutine::new`](crate::Coroutine::new) uses: 256 KiB of
    /// address space, of which only the pages touched cost memory.
    ///
    /// What a stack costs is the pages it touches (one 4 KiB page for a
    /// coroutine that suspends after using under a page; see
    /// BENCHMARKS.md), plus its share of a page-table page: the kernel
    /// needs one 4 KiB page-table page for every 2 MiB of address space
    /// that has a touched page. Stacks of 256 KiB share one between eight,
    /// 512 bytes each; 1 MiB stacks (corosensei's default) would need 2 KiB
    /// each, 2 MiB stacks (a thread's) 4 KiB each, as much again as the
    /// stack itself. Address space is not the limit: a million 256 KiB
    /// stacks reserve 256 GiB of the 128 TiB a process has.
    ///
    /// 256 KiB is plenty for ordinary Rust code, formatting, panics and
    /// backtraces; deep recursion wants a bigger stack from [`Stack::new`],
    /// and a million tiny coroutines a smaller one (16 KiB: 32 bytes of
    /// page table each).
    pub const DEFAULT_SIZE: usize = 256 * 1024;

    /// True where rustc makes every large frame touch the stack page by
    /// page before using it ("stack probes"): x86_64, aarch64, x86 (i686),
    /// powerpc64 (a `stdu` every 4 KiB) and s390x (a load every 4 KiB),
    /// with rustc 1.95. There a frame of any size hits the first page of
    /// the guard region, and one guard page (of the runtime page size: 64
    /// KiB on many powerpc64 kernels) catches every overflow.
    ///
    /// False where it does not (riscv64 and arm (armv7) with rustc 1.95,
    /// and code built with `-Zsanitizer=address`): a frame is one
    /// subtraction from the stack pointer, which can jump over the guard region and land in
    /// whatever lies below, a neighbouring stack included. Only a guard
    /// region at least as large as the frame catches it, which is why
    /// [`Stack::DEFAULT_GUARD_SIZE`] is large there.
    ///
    /// # Examples
    /// ```
    /// use swapctx::Stack;
    ///
    /// if !Stack::FRAMES_ARE_PROBED {
    ///     // Frames up to the guard size are caught, and no larger ones.
    ///     assert!(Stack::DEFAULT_GUARD_SIZE >= 4 << 20);
    /// }
    /// ```
    pub const FRAMES_ARE_PROBED: bool = cfg!(all(
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "powerpc64",
            target_arch = "s390x",
            target_arch = "x86"
        ),
        not(feature = "asan")
    ));

    /// The guard region below a stack made by [`Stack::new`] (rounded up to
    /// whole pages): one 4 KiB page where frames are probed
    /// ([`Stack::FRAMES_ARE_PROBED`]), else 4 MiB + 64 KiB, enough for any
    /// frame of up to 4 MiB on any stack (the frame's locals plus up to
    /// 64 KiB of saved registers and arguments). With the `asan` feature
    /// (code built with `-Zsanitizer=address`, whose redzones make frames
    /// larger), 16 MiB + 64 KiB.
    ///
    /// A larger guard costs no memory, but in-place guard markers are
    /// page-table entries: a 4 MiB guard needs about 8 KiB of page tables
    /// per stack, and takes longer to install (BENCHMARKS.md has the
    /// numbers at 100,000 stacks). [`Stack::with_guard_size`] and
    /// [`StackPoolBuilder::guard_size`] choose another size: larger where
    /// frames may be larger, smaller where address space is short (a riscv64
    /// system with 39-bit virtual addresses has 256 GiB of it: about 60,000
    /// stacks with the default guard; a 32-bit arm process has about 3 GiB:
    /// about 700 stacks, so programs with many coroutines there choose a
    /// guard sized for their largest frame).
    ///
    /// # Examples
    /// ```
    /// use swapctx::Stack;
    ///
    /// let stack = Stack::new(64 * 1024)?;
    /// assert!(stack.guard().1 >= Stack::DEFAULT_GUARD_SIZE);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub const DEFAULT_GUARD_SIZE: usize = if cfg!(windows) {
        // The page the system guards, one never committed, and the rest:
        // the guarantee, the room the overflow handler runs in
        // (src/stack/windows.rs).
        64 << 10
    } else if Stack::FRAMES_ARE_PROBED {
        4096
    } else if cfg!(feature = "asan") {
        (16 << 20) + (64 << 10)
    } else {
        (4 << 20) + (64 << 10)
    };

    /// Maps a stack with at least `size` usable bytes and a guard page
    /// below them, made the way [`GuardKind::preferred`] says (in place
    /// where the kernel can, else with `mprotect`).
    ///
    /// # Errors
    /// - [`Error::ZeroStackSize`] for `size == 0`;
    /// - [`Error::StackSizeOverflow`] if the size rounded up to pages plus
    ///   the guard page does not fit in `isize::MAX` bytes;
    /// - [`Error::AddressSpaceLimit`] if the mapping would exceed the
    ///   process's `RLIMIT_AS`;
    /// - [`Error::MapCountLimit`] if the process has reached its mapping
    ///   limit, `vm.max_map_count` (only likely with `mprotect` guards, two
    ///   mappings per stack);
    /// - [`Error::Map`] if the kernel refuses the mapping for another
    ///   reason (out of address space or memory);
    /// - [`Error::GuardPage`] if the kernel refuses to install the guard
    ///   page for another reason.
    ///
    /// Nothing else is disturbed by a failure: what was mapped is unmapped.
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Error, Stack};
    ///
    /// assert!(matches!(Stack::new(usize::MAX), Err(Error::StackSizeOverflow { .. })));
    /// ```
    pub fn new(size: usize) -> Result<Stack> {
        Stack::map(size, Self::DEFAULT_GUARD_SIZE, GuardKind::preferred(), true)
    }

    /// Maps a stack as [`Stack::new`] does, with a guard region of at least
    /// `guard_size` bytes (rounded up to whole pages, and to one page at
    /// least) instead of [`Stack::DEFAULT_GUARD_SIZE`].
    ///
    /// Where frames are not probed ([`Stack::FRAMES_ARE_PROBED`]), the
    /// guard size is the largest frame that is certain to end in the
    /// overflow message rather than in a neighbouring mapping.
    ///
    /// # Errors
    /// As [`Stack::new`]; [`Error::StackSizeOverflow`] also if the guard
    /// makes the mapping too large.
    ///
    /// # Examples
    /// ```
    /// use swapctx::Stack;
    ///
    /// // A stack for code with frames of up to 16 MiB, on any target.
    /// let stack = Stack::with_guard_size(256 * 1024, 16 << 20)?;
    /// assert_eq!(stack.guard().1, 16 << 20);
    /// assert_eq!(stack.size(), 256 * 1024);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn with_guard_size(size: usize, guard_size: usize) -> Result<Stack> {
        Stack::map(size, guard_size, GuardKind::preferred(), true)
    }

    /// Maps a stack as [`Stack::new`] does, with exactly the given kind of
    /// guard page. [`GuardKind::Mprotect`] works everywhere; it is how to
    /// force the fallback (in a test, or to compare).
    ///
    /// # Errors
    /// As [`Stack::new`]; and [`Error::GuardPage`] with `EINVAL` if
    /// [`GuardKind::Madvise`] is asked for and the kernel cannot install
    /// guard pages in place.
    ///
    /// # Examples
    /// ```
    /// use swapctx::{GuardKind, Stack};
    ///
    /// let stack = Stack::new_with(64 * 1024, GuardKind::Mprotect)?;
    /// assert_eq!(stack.guard_kind(), GuardKind::Mprotect);
    ///
    /// // In place where the kernel has it (Linux 6.13+), an error elsewhere.
    /// match Stack::new_with(64 * 1024, GuardKind::Madvise) {
    ///     Ok(s) => assert_eq!(s.guard_kind(), GuardKind::Madvise),
    ///     Err(e) => assert!(e.to_string().contains("MADV_GUARD_INSTALL")),
    /// }
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn new_with(size: usize, kind: GuardKind) -> Result<Stack> {
        Stack::map(size, Self::DEFAULT_GUARD_SIZE, kind, false)
    }

    /// Maps a stack with a guard region of `guard_size` bytes (rounded) of
    /// `kind`; with `fallback`, an in-place guard that the kernel turns
    /// down becomes an `mprotect` one.
    #[cfg(unix)]
    fn map(size: usize, guard_size: usize, kind: GuardKind, fallback: bool) -> Result<Stack> {
        let (usable, guard) = sizes(size, guard_size)?;
        let len = usable + guard;

        // SAFETY: an anonymous private mapping at an address of the
        // kernel's choosing; the result is checked below.
        let mapping = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return Err(limits::map_failed(len, last_errno()));
        }
        // Own the mapping (and its record) first, so that any failure below
        // unmaps it. Registering the guard before it is installed is
        // harmless: the handler only looks it up on a fault in it.
        let top = mapping.cast::<u8>().wrapping_add(len);
        let stack = Stack {
            top,
            reg: registry::register(mapping as usize, mapping as usize + guard, top as usize),
        };
        let data = stack.data();
        // A record comes back without a pool link (only an unlinked stack is
        // unmapped), and its kind is set below; only the tool id is stale.
        debug_assert!(!stack.is_pooled());
        data.set_tools(crate::tools::StackId::default());
        // SAFETY: the first `guard` bytes of our own fresh mapping, which
        // nothing uses yet (a failed in-place attempt leaves it as it was).
        let kind = match unsafe { guard::install(stack.mapping(), guard, kind) } {
            Err(Error::GuardPage { errno }) if fallback && errno == libc::EINVAL => {
                // SAFETY: as above.
                unsafe { guard::install(stack.mapping(), guard, GuardKind::Mprotect)? }
            }
            other => other?,
        };
        data.kind.store(kind as u8, Ordering::Relaxed);
        data.set_tools(crate::tools::stack_mapped(
            stack.bottom() as usize,
            stack.top() as usize,
        ));
        Ok(stack)
    }

    /// A stack of [`Stack::DEFAULT_SIZE`].
    ///
    /// # Errors
    /// As [`Stack::new`].
    ///
    /// # Examples
    /// ```
    /// let stack = swapctx::Stack::with_default_size()?;
    /// assert_eq!(stack.size(), swapctx::Stack::DEFAULT_SIZE);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn with_default_size() -> Result<Stack> {
        Stack::new(Self::DEFAULT_SIZE)
    }

    /// One past the highest usable byte; 16-byte aligned. Stacks grow down
    /// from here.
    #[inline]
    pub fn top(&self) -> *mut u8 {
        self.top
    }

    /// The lowest usable byte, just above the guard page.
    #[inline]
    pub fn bottom(&self) -> *mut u8 {
        self.reg.guard_hi() as *mut u8
    }

    /// Usable bytes: `top() - bottom()`.
    #[inline]
    pub fn size(&self) -> usize {
        self.top as usize - self.bottom() as usize
    }

    /// The stack's record (see the `reg` field).
    #[inline]
    pub(crate) fn data(&self) -> &StackData {
        self.reg.data()
    }

    /// Start of the mapping: the guard region, right below `bottom`.
    #[inline]
    fn mapping(&self) -> *mut u8 {
        self.reg.guard_lo() as *mut u8
    }

    /// The guard region below the usable stack, as `(start, length)`: at
    /// least [`Stack::DEFAULT_GUARD_SIZE`] bytes for a stack from
    /// [`Stack::new`], whole pages.
    ///
    /// # Examples
    /// ```
    /// let stack = swapctx::Stack::new(64 * 1024)?;
    /// let (start, len) = stack.guard();
    /// assert_eq!(start as usize + len, stack.bottom() as usize);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    #[inline]
    pub fn guard(&self) -> (*const u8, usize) {
        let lo = self.reg.guard_lo();
        (lo as *const u8, self.reg.guard_hi() - lo)
    }

    /// How this stack's guard page was made.
    ///
    /// # Examples
    /// ```
    /// use swapctx::{GuardKind, Stack};
    ///
    /// let stack = Stack::new(64 * 1024)?;
    /// assert_eq!(stack.guard_kind(), GuardKind::preferred());
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    #[inline]
    pub fn guard_kind(&self) -> GuardKind {
        if self.data().kind.load(Ordering::Relaxed) == GuardKind::Mprotect as u8 {
            GuardKind::Mprotect
        } else {
            GuardKind::Madvise
        }
    }

    /// True if dropping this stack gives it back to a [`StackPool`].
    ///
    /// # Examples
    /// ```
    /// let pool = swapctx::StackPool::new(64 * 1024, 4)?;
    /// assert!(pool.stack()?.is_pooled());
    /// assert!(!swapctx::Stack::new(64 * 1024)?.is_pooled());
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    #[inline]
    pub fn is_pooled(&self) -> bool {
        !self.data().pool.load(Ordering::Relaxed).is_null()
    }

    /// Gives the usable pages back to the kernel (`MADV_DONTNEED`): they
    /// read as zeroes again and cost no memory until touched.
    fn release_pages(&self) {
        // SAFETY: the usable part of our own mapping, on which nothing runs
        // (the stack is idle, in a pool).
        unsafe { release_usable(self.bottom(), self.size()) };
    }

    /// Unmaps the stack and gives its record back (for a stack that is
    /// not, or no longer, pooled).
    ///
    /// # Safety
    /// Only from `Drop`: the registration is moved out of `self`, which
    /// must not be used afterwards.
    #[cfg(unix)]
    #[inline(never)]
    unsafe fn unmap(&mut self) {
        crate::tools::stack_unmapped(self.data().tools());
        // Read everything from the record before it is given back (another
        // thread may reuse it at once).
        let (bottom, size) = (self.bottom(), self.size());
        let mapping = self.mapping();
        let len = self.top as usize - mapping as usize;
        // SAFETY: per the contract, `self.reg` is not used again.
        registry::unregister(unsafe { ptr::read(&self.reg) });
        // SAFETY: we own this mapping; nothing runs on a stack that is being
        // dropped (coroutines own their stack and finish or unwind first).
        let rc = unsafe { libc::munmap(mapping.cast(), len) };
        if rc != 0 {
            // Unmapping a stack from the middle of a merged mapping (in-place
            // guards let neighbours merge) splits it, which the kernel
            // refuses at vm.max_map_count. Give the memory back at least;
            // the address range stays reserved.
            // SAFETY: the usable part of our own mapping, on which nothing
            // runs any more.
            unsafe { release_usable(bottom, size) };
        }
    }
}

/// Gives the pages of `[bottom, bottom + size)` back to the kernel
/// (`MADV_DONTNEED`): they read as zeroes again and cost no memory until
/// touched. The guard region below is not touched (and `MADV_DONTNEED`
/// keeps guard markers anyway).
///
/// # Safety
/// The range must be the usable part of a stack we own, on which nothing
/// runs.
#[cfg(unix)]
unsafe fn release_usable(bottom: *mut u8, size: usize) {
    // SAFETY: per the contract.
    unsafe { libc::madvise(bottom.cast(), size, libc::MADV_DONTNEED) };
}

// `Stack`'s own `Drop` releases everything: its fields have no drop glue,
// which is what lets `give_back` move a stack out of `&mut self` bitwise.
const _: () = assert!(!core::mem::needs_drop::<(*mut u8, registry::Registration)>());

impl Drop for Stack {
    #[inline]
    fn drop(&mut self) {
        // (The link is read once: an atomic load is not merged with another.)
        let shared = self.data().pool.load(Ordering::Relaxed);
        if !shared.is_null() {
            // SAFETY: a pooled stack (`shared` is its link), in its own
            // Drop: `give_back` moves it into the pool (or unmaps it); what
            // is left of `self` owns nothing (no field has drop glue).
            unsafe { pool::give_back(self, shared) };
            return;
        }
        // SAFETY: in Drop; `self` is not used again.
        unsafe { self.unmap() };
    }
}

/// `(usable, guard)` bytes for a requested size and guard size: the size
/// rounded up to the minimum and to pages, the guard to pages (one at
/// least); checked to fit.
fn sizes(size: usize, guard_size: usize) -> Result<(usize, usize)> {
    if size == 0 {
        return Err(Error::ZeroStackSize);
    }
    let page = page_size();
    let overflow = Error::StackSizeOverflow { requested: size };
    let usable = size
        .max(Stack::MIN_SIZE)
        .checked_add(page - 1)
        .ok_or(overflow)?
        & !(page - 1);
    let guard = guard_size.max(1).checked_add(page - 1).ok_or(overflow)? & !(page - 1);
    let len = usable.checked_add(guard).ok_or(overflow)?;
    if len > isize::MAX as usize {
        return Err(overflow);
    }
    Ok((usable, guard))
}

#[cfg(unix)]
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The page size, read once.
#[cfg(unix)]
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

#[cfg(unix)]
fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
