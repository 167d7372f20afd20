//! The crate's error type.

use core::fmt;

/// What can go wrong when making a stack.
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ZeroStackSize => {
                f.write_str("a stack size of 0 bytes was requested; a stack needs at least 1 byte")
            }
            Error::StackSizeOverflow { requested } => write!(
                f,
                "a stack size of {requested} bytes is too large: rounded up to whole pages \
                 and with its guard page it does not fit in the address space"
            ),
            Error::Map { size, errno } => {
                write!(
                    f,
                    "the kernel refused to map a {size}-byte stack: {}",
                    errno_text(errno)
                )?;
                if is_enomem(errno) {
                    f.write_str(
                        " (out of address space or memory, or the process reached its \
                         mapping limit, vm.max_map_count, or its RLIMIT_AS; use smaller \
                         stacks, fewer live coroutines or a StackPool, or raise the limit)",
                    )?;
                }
                Ok(())
            }
            Error::GuardPage { errno } => {
                write!(
                    f,
                    "the kernel refused to install a stack's guard page: {}",
                    errno_text(errno)
                )?;
                if is_enomem(errno) {
                    f.write_str(
                        " (each guard page splits a mapping; the process probably reached \
                         its mapping limit, vm.max_map_count: drop stacks you no longer \
                         need, reuse them (StackPool), or raise the limit with \
                         `sysctl -w vm.max_map_count=...`)",
                    )?;
                }
                if is_einval(errno) {
                    f.write_str(
                        " (guard pages in place, MADV_GUARD_INSTALL, need Linux 6.13 or \
                         later; GuardKind::Mprotect and Stack::new work everywhere)",
                    )?;
                }
                Ok(())
            }
            Error::MapCountLimit { limit } => write!(
                f,
                "the process reached its limit of {limit} memory mappings \
                 (vm.max_map_count): every stack costs one mapping, or two where its \
                 guard page is made with mprotect (kernels before Linux 6.13, or \
                 SWAPCTX_GUARD=mprotect); drop stacks you no longer need or reuse them \
                 (StackPool), or raise the limit (`sysctl -w vm.max_map_count=262144`)"
            ),
            Error::AddressSpaceLimit { size, limit } => write!(
                f,
                "mapping a {size}-byte stack would take the process past its \
                 address-space limit, RLIMIT_AS (`ulimit -v`), of {limit} bytes: each \
                 stack reserves its whole size of address space; use smaller stacks \
                 (Stack::new, StackPool::builder().stack_size), fewer live coroutines, \
                 or raise the limit"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// True if `errno` is the OS's `ENOMEM`. Without an OS (`target_os =
/// "none"`, a `no_std` build) there are no errno values to name: false.
fn is_enomem(errno: i32) -> bool {
    #[cfg(unix)]
    {
        errno == libc::ENOMEM
    }
    #[cfg(not(unix))]
    {
        let _ = errno;
        false
    }
}

/// True if `errno` is the OS's `EINVAL` (false without an OS).
fn is_einval(errno: i32) -> bool {
    #[cfg(unix)]
    {
        errno == libc::EINVAL
    }
    #[cfg(not(unix))]
    {
        let _ = errno;
        false
    }
}

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
