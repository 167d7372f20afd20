//! Stacks for contexts and coroutines: `mmap`'d, lazily committed, with a
//! guard page below.
//!
//! ```text
//!   top()    ─►  +---------------------------+  high addresses
//!                |                           |
//!                |   usable stack: size()    |  read/write, committed page
//!                |   bytes, grows downwards  |  by page as it is touched
//!                |                           |  (MAP_NORESERVE)
//!   bottom() ─►  +---------------------------+
//!                |   guard page (PROT_NONE)  |  a touch here is an overflow:
//!                |                           |  a clear message and an abort
//!   mapping  ─►  +---------------------------+  low addresses
//! ```

use core::ptr;

use crate::error::{Error, Result};
use crate::overflow;

/// An `mmap`'d stack with a guard page below it.
///
/// Memory is reserved, not committed: the kernel hands out a page the first
/// time it is touched, so a 1 MiB stack that a coroutine uses 3 KiB of
/// costs one or two pages of memory. The guard page turns an overflow into
/// a clear message and an abort instead of silent corruption. Dropping the
/// stack unmaps it.
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
#[derive(Debug)]
pub struct Stack {
    /// Start of the mapping: the guard page.
    mapping: *mut u8,
    /// Length of the mapping, guard page included.
    len: usize,
    /// Length of the guard region at the bottom.
    guard: usize,
    registration: Option<overflow::Registration>,
    /// What Valgrind or ASan were told about this stack (see `tools`).
    tools: crate::tools::StackId,
}

// SAFETY: a Stack owns its mapping outright; nothing in it is tied to the
// thread that made it.
unsafe impl Send for Stack {}
// SAFETY: `&Stack` only reads the bounds.
unsafe impl Sync for Stack {}

impl Stack {
    /// The smallest usable size. Smaller non-zero sizes are rounded up to
    /// it: catching and carrying a panic across a switch, and formatting,
    /// need a few KiB of stack, and so does the overflow handler's caller.
    pub const MIN_SIZE: usize = 16 * 1024;

    /// The size [`Coroutine::new`](crate::Coroutine::new) uses: 256 KiB of
    /// address space, of which only the pages touched cost memory.
    ///
    /// Why not more: each stack's touched pages need their own page-table
    /// page once stacks are more than 2 MiB apart, so 1 MiB stacks would
    /// cost an extra 4 KiB of kernel memory per coroutine at scale; 256 KiB
    /// lets eight stacks share one, and is plenty for ordinary Rust code,
    /// panics and backtraces. Deep recursion wants a bigger stack from
    /// [`Stack::new`].
    pub const DEFAULT_SIZE: usize = 256 * 1024;

    /// Maps a stack with at least `size` usable bytes and a guard page
    /// below them.
    ///
    /// # Errors
    /// - [`Error::ZeroStackSize`] for `size == 0`;
    /// - [`Error::StackSizeOverflow`] if the size rounded up to pages plus
    ///   the guard page does not fit in `isize::MAX` bytes;
    /// - [`Error::Map`] if the kernel refuses the mapping (out of address
    ///   space, `RLIMIT_AS`, the mapping limit);
    /// - [`Error::GuardPage`] if the kernel refuses to protect the guard
    ///   page (usually the mapping limit, `vm.max_map_count`).
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Error, Stack};
    ///
    /// assert!(matches!(Stack::new(usize::MAX), Err(Error::StackSizeOverflow { .. })));
    /// ```
    pub fn new(size: usize) -> Result<Stack> {
        if size == 0 {
            return Err(Error::ZeroStackSize);
        }
        let page = overflow::page_size();
        let overflow = Error::StackSizeOverflow { requested: size };
        let usable = size
            .max(Self::MIN_SIZE)
            .checked_add(page - 1)
            .ok_or(overflow)?
            & !(page - 1);
        let guard = page;
        let len = usable.checked_add(guard).ok_or(overflow)?;
        if len > isize::MAX as usize {
            return Err(overflow);
        }

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
            return Err(Error::Map {
                size: len,
                errno: last_errno(),
            });
        }
        // Own the mapping first, so that any failure below unmaps it.
        let mut stack = Stack {
            mapping: mapping.cast(),
            len,
            guard,
            registration: None,
            tools: crate::tools::StackId::default(),
        };
        // SAFETY: the first `guard` bytes of our own fresh mapping.
        if unsafe { libc::mprotect(mapping, guard, libc::PROT_NONE) } != 0 {
            return Err(Error::GuardPage {
                errno: last_errno(),
            });
        }
        stack.registration = Some(overflow::register(
            stack.mapping as usize,
            stack.bottom() as usize,
            stack.top() as usize,
        ));
        stack.tools = crate::tools::stack_mapped(stack.bottom() as usize, stack.top() as usize);
        Ok(stack)
    }

    /// A stack of [`Stack::DEFAULT_SIZE`].
    ///
    /// # Errors
    /// As [`Stack::new`].
    pub fn with_default_size() -> Result<Stack> {
        Stack::new(Self::DEFAULT_SIZE)
    }

    /// One past the highest usable byte; 16-byte aligned. Stacks grow down
    /// from here.
    pub fn top(&self) -> *mut u8 {
        self.mapping.wrapping_add(self.len)
    }

    /// The lowest usable byte, just above the guard page.
    pub fn bottom(&self) -> *mut u8 {
        self.mapping.wrapping_add(self.guard)
    }

    /// Usable bytes: `top() - bottom()`.
    pub fn size(&self) -> usize {
        self.len - self.guard
    }

    /// The guard region below the usable stack, as `(start, length)`.
    pub fn guard(&self) -> (*const u8, usize) {
        (self.mapping, self.guard)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        crate::tools::stack_unmapped(self.tools);
        if let Some(reg) = self.registration.take() {
            overflow::unregister(reg);
        }
        // SAFETY: we own this mapping; nothing runs on a stack that is being
        // dropped (coroutines own their stack and finish or unwind first).
        let rc = unsafe { libc::munmap(self.mapping.cast(), self.len) };
        debug_assert_eq!(rc, 0, "munmap of a stack failed");
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
