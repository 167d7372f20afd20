//! The crate's error type.

use core::fmt;

/// What can go wrong when making a stack (or one on the embedder's memory).
///
/// Every variant's message says what was asked for and, where the kernel
/// refused, what it said and what to do about it.
///
/// # Examples
/// ```
/// use swapctx::{Error, Stack};
///
/// let err = Stack::new(0).unwrap_err();
/// assert_eq!(err, Error::ZeroStackSize);
/// assert_eq!(err.to_string(), "a stack size of 0 bytes was requested; a stack needs at least 1 byte");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `Stack::new(0)`.
    ZeroStackSize,
    /// The size, rounded up to whole pages and with the guard page added,
    /// does not fit in the address space (`usize`, or `isize::MAX` bytes).
    StackSizeOverflow {
        /// The size that was asked for.
        requested: usize,
    },
    /// The kernel refused to map the stack (`mmap` failed).
    Map {
        /// Bytes the mapping would have had, guard page included.
        size: usize,
        /// The `errno` that `mmap` returned.
        errno: i32,
    },
    /// The kernel refused to install the guard page (`mprotect` failed).
    /// The most common cause is the per-process mapping limit: every guard
    /// page made with `mprotect` splits its mapping in two.
    GuardPage {
        /// The `errno` that the kernel returned.
        errno: i32,
    },
    /// The process has reached its limit on memory mappings,
    /// `vm.max_map_count` (65,530 by default on Linux). Every stack costs
    /// one mapping, or two where the guard page is made with `mprotect`
    #[cfg_attr(
        feature = "std",
        doc = "([`GuardKind::Mprotect`](crate::GuardKind::Mprotect))."
    )]
    #[cfg_attr(not(feature = "std"), doc = "(`GuardKind::Mprotect`, with `std`).")]
    MapCountLimit {
        /// The limit, read from `/proc/sys/vm/max_map_count`.
        limit: usize,
    },
    /// Mapping the stack would take the process past its address-space
    /// limit, `RLIMIT_AS` (`ulimit -v`). A stack reserves its whole size of
    /// address space, although only its touched pages cost memory.
    AddressSpaceLimit {
        /// Bytes the mapping would have had, guard page included.
        size: usize,
        /// The limit in bytes.
        limit: u64,
    },
    /// Memory given for a stack (`StackBuf`) is smaller than the minimum.
    StackTooSmall {
        /// The bytes given.
        size: usize,
        /// The minimum (`StackBuf::MIN_SIZE`).
        min: usize,
    },
    /// Memory given for a stack (`StackBuf`) does not start at a multiple
    /// of 16 bytes, or is not a multiple of 16 bytes long.
    StackMisaligned {
        /// Where the memory starts.
        address: usize,
        /// The bytes given.
        size: usize,
    },
}

/// The fixed text of each [`Error`] variant, written once: what went
/// wrong, why, and what to do. [`Error`]'s `Display` prints it and adds
/// the values the error carries (sizes, `errno`, limits); the C API's
/// `swapctx_strerror` returns it as it is, and the comment of each status
/// code in `include/swapctx.h` is generated from it (`src/capi/header_check.rs`).
/// Static and NUL-terminated, for C.
pub(crate) mod text {
    use core::ffi::CStr;

    /// [`Error::ZeroStackSize`](super::Error::ZeroStackSize).
    pub(crate) const ZERO_STACK_SIZE: &CStr =
        c"a stack size of 0 bytes was requested; a stack needs at least 1 byte";
    /// [`Error::StackSizeOverflow`](super::Error::StackSizeOverflow).
    pub(crate) const STACK_SIZE_OVERFLOW: &CStr = c"the stack size is too large: rounded up to \
        whole pages and with its guard region it does not fit in the address space; ask for \
        a smaller stack";
    /// [`Error::Map`](super::Error::Map).
    pub(crate) const MAP: &CStr = c"the kernel refused to map the stack (mmap failed): out of \
        address space or memory, or the process reached its mapping limit (vm.max_map_count) \
        or its address-space limit (RLIMIT_AS); use smaller stacks, fewer live coroutines or \
        a pool of stacks (StackPool), or raise the limit";
    /// [`Error::GuardPage`](super::Error::GuardPage).
    pub(crate) const GUARD_PAGE: &CStr = c"the kernel refused to install a stack's guard page: \
        made with mprotect, each guard page splits a mapping in two, and the process probably \
        reached its mapping limit (vm.max_map_count): drop stacks you no longer need, reuse \
        them (StackPool), or raise the limit (sysctl -w vm.max_map_count=262144); made in \
        place (MADV_GUARD_INSTALL), it needs Linux 6.13 or later, while guard pages made \
        with mprotect (GuardKind::Mprotect, and Stack::new's fallback) work everywhere";
    /// [`Error::MapCountLimit`](super::Error::MapCountLimit).
    pub(crate) const MAP_COUNT_LIMIT: &CStr = c"the process reached its limit on memory \
        mappings (vm.max_map_count): every stack costs one mapping, or two where its guard \
        page is made with mprotect (kernels before Linux 6.13, or SWAPCTX_GUARD=mprotect); \
        drop stacks you no longer need or reuse them (a pool of stacks: StackPool), or raise \
        the limit \
        (sysctl -w vm.max_map_count=262144)";
    /// [`Error::AddressSpaceLimit`](super::Error::AddressSpaceLimit).
    pub(crate) const ADDRESS_SPACE_LIMIT: &CStr = c"mapping the stack would take the process \
        past its address-space limit, RLIMIT_AS (ulimit -v): each stack reserves its whole \
        size of address space; use smaller stacks, fewer live coroutines, \
        or raise the limit";
    /// [`Error::StackTooSmall`](super::Error::StackTooSmall).
    pub(crate) const STACK_TOO_SMALL: &CStr = c"the memory given for a stack is too small: \
        a stack on the embedder's memory needs at least StackBuf::MIN_SIZE (8192) bytes, \
        for the canary, the coroutine's slots and its first frames; give a bigger buffer";
    /// [`Error::StackMisaligned`](super::Error::StackMisaligned).
    pub(crate) const STACK_MISALIGNED: &CStr = c"the memory given for a stack is misaligned: \
        its start and its size must both be multiples of 16 bytes (StackBuf::ALIGN); align \
        the buffer (StackArea, alignas(16), aligned_alloc) and round its size down";
}

impl Error {
    /// This variant's fixed text ([`text`]), without the values it carries.
    pub(crate) const fn description(&self) -> &'static core::ffi::CStr {
        match self {
            Error::ZeroStackSize => text::ZERO_STACK_SIZE,
            Error::StackSizeOverflow { .. } => text::STACK_SIZE_OVERFLOW,
            Error::Map { .. } => text::MAP,
            Error::GuardPage { .. } => text::GUARD_PAGE,
            Error::MapCountLimit { .. } => text::MAP_COUNT_LIMIT,
            Error::AddressSpaceLimit { .. } => text::ADDRESS_SPACE_LIMIT,
            Error::StackTooSmall { .. } => text::STACK_TOO_SMALL,
            Error::StackMisaligned { .. } => text::STACK_MISALIGNED,
        }
    }
}

impl fmt::Display for Error {
    /// The variant's text (one per variant, the same that the C API's
    /// `swapctx_strerror` returns), then what this error carries in
    /// parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The texts are ASCII literals (checked by a test).
        f.write_str(self.description().to_str().unwrap_or_default())?;
        match *self {
            Error::ZeroStackSize => Ok(()),
            Error::StackSizeOverflow { requested } => {
                write!(f, " (requested: {requested} bytes)")
            }
            Error::Map { size, errno } => {
                // Windows: the code is VirtualAlloc's (GetLastError).
                let call = if cfg!(windows) {
                    "VirtualAlloc"
                } else {
                    "mmap"
                };
                write!(f, " (a {size}-byte mapping; {call}: {})", errno_text(errno))
            }
            Error::GuardPage { errno } => write!(f, " ({})", errno_text(errno)),
            Error::MapCountLimit { limit } => write!(f, " (the limit is {limit} mappings)"),
            Error::AddressSpaceLimit { size, limit } => {
                write!(f, " (a {size}-byte mapping; the limit is {limit} bytes)")
            }
            Error::StackTooSmall { size, min } => {
                write!(f, " ({size} bytes given; the minimum is {min})")
            }
            Error::StackMisaligned { address, size } => {
                write!(f, " ({size} bytes at {address:#x})")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// `strerror`-like text for an errno, with its symbolic name.
fn errno_text(errno: i32) -> ErrnoText {
    ErrnoText(errno)
}

struct ErrnoText(i32);

impl fmt::Display for ErrnoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(unix)]
        let name = match self.0 {
            libc::ENOMEM => "ENOMEM",
            libc::EINVAL => "EINVAL",
            libc::EAGAIN => "EAGAIN",
            libc::EPERM => "EPERM",
            libc::EACCES => "EACCES",
            _ => "",
        };
        // libc has no errno constants without an OS.
        #[cfg(not(unix))]
        let name = "";
        #[cfg(feature = "std")]
        {
            let io = std::io::Error::from_raw_os_error(self.0);
            if name.is_empty() {
                write!(f, "{io}")
            } else {
                write!(f, "{name}, {io}")
            }
        }
        #[cfg(not(feature = "std"))]
        {
            if name.is_empty() {
                write!(f, "errno {}", self.0)
            } else {
                write!(f, "{name} (errno {})", self.0)
            }
        }
    }
}

/// `Result<T, swapctx::Error>`.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Error; 8] = [
        Error::ZeroStackSize,
        Error::StackSizeOverflow { requested: 7 },
        Error::Map { size: 8, errno: 12 },
        Error::GuardPage { errno: 22 },
        Error::MapCountLimit { limit: 65530 },
        Error::AddressSpaceLimit { size: 9, limit: 10 },
        Error::StackTooSmall {
            size: 100,
            min: 1024,
        },
        Error::StackMisaligned {
            address: 0x1001,
            size: 4096,
        },
    ];

    #[test]
    fn messages_start_with_the_one_text_and_add_the_values() {
        for e in ALL {
            let text = e.description().to_str().expect("an ASCII text");
            assert!(text.is_ascii() && !text.is_empty(), "{e:?}");
            let msg = e.to_string();
            assert!(msg.starts_with(text), "{msg}");
        }
        assert_eq!(
            ALL[0].to_string(),
            "a stack size of 0 bytes was requested; a stack needs at least 1 byte"
        );
        assert!(ALL[1].to_string().ends_with("(requested: 7 bytes)"));
        assert!(ALL[2].to_string().contains("8-byte mapping"));
        assert!(ALL[4].to_string().contains("65530"));
        assert!(ALL[5]
            .to_string()
            .ends_with("(a 9-byte mapping; the limit is 10 bytes)"));
        assert!(ALL[6]
            .to_string()
            .ends_with("(100 bytes given; the minimum is 1024)"));
        assert!(ALL[7].to_string().ends_with("(4096 bytes at 0x1001)"));
    }
}
