//! Which limit the kernel hit when it refused a stack.
//!
//! `mmap`, `mprotect` and `madvise` all say `ENOMEM` for "out of memory",
//! "past `RLIMIT_AS`" and "past `vm.max_map_count`" alike. On that (rare,
//! already failing) path we look: `getrlimit` and `VmSize` for the first,
//! the lines of `/proc/self/maps` against `/proc/sys/vm/max_map_count` for
//! the second. Nothing here allocates: at the mapping limit `malloc` may
//! not get a new mapping either. Files are read with `open`/`read` into
//! buffers on the stack.

use crate::error::Error;

/// The error for an `mmap` of `len` bytes that failed with `errno`.
pub(super) fn map_failed(len: usize, errno: i32) -> Error {
    if errno == libc::ENOMEM {
        if let Some(limit) = address_space_limit(len) {
            return Error::AddressSpaceLimit { size: len, limit };
        }
        if let Some(limit) = map_count_limit() {
            return Error::MapCountLimit { limit };
        }
    }
    Error::Map { size: len, errno }
}

/// The error for a guard page that the kernel refused with `errno`.
pub(super) fn guard_failed(errno: i32) -> Error {
    if errno == libc::ENOMEM {
        if let Some(limit) = map_count_limit() {
            return Error::MapCountLimit { limit };
        }
    }
    Error::GuardPage { errno }
}

/// `Some(RLIMIT_AS)` if mapping `len` more bytes would go past it.
fn address_space_limit(len: usize) -> Option<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) } != 0
        || rl.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    // `rlim_t` is u64 here, u32 on some 32-bit targets.
    #[allow(clippy::unnecessary_cast)]
    let limit = rl.rlim_cur as u64;
    let mut buf = [0u8; 4096];
    let status = read_file(c"/proc/self/status", &mut buf)?;
    let vm_kib = field_kib(status, b"VmSize:")?;
    (vm_kib.saturating_mul(1024).saturating_add(len as u64) > limit).then_some(limit)
}

/// `Some(vm.max_map_count)` if the process has (about) that many mappings.
fn map_count_limit() -> Option<usize> {
    let mut buf = [0u8; 64];
    let text = read_file(c"/proc/sys/vm/max_map_count", &mut buf)?;
    let limit: usize = core::str::from_utf8(text).ok()?.trim().parse().ok()?;
    let count = count_lines(c"/proc/self/maps")?;
    // The maps file also lists [vsyscall], which is no mapping of ours,
    // other threads may map or unmap meanwhile, and under an emulator
    // (qemu-user) the file lists the guest's mappings while the limit
    // counts the emulator's too: allow some slack, 1/32 of the limit.
    (count + limit / 32 + 8 >= limit).then_some(limit)
}

/// Reads up to `buf.len()` bytes of a file.
fn read_file<'a>(path: &core::ffi::CStr, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: writes at most the rest of `buf`.
        let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        if n <= 0 {
            break;
        }
        len += n as usize;
    }
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    Some(&buf[..len])
}

/// The number of lines in a (possibly long) file.
fn count_lines(path: &core::ffi::CStr) -> Option<usize> {
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 8192];
    let mut lines = 0;
    loop {
        // SAFETY: writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        lines += buf[..n as usize].iter().filter(|b| **b == b'\n').count();
    }
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    Some(lines)
}

/// The number in a `/proc/self/status` line such as `VmSize:   1234 kB`.
pub(crate) fn field_kib(status: &[u8], key: &[u8]) -> Option<u64> {
    let text = core::str::from_utf8(status).ok()?;
    let line = text.lines().find(|l| l.as_bytes().starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_parsed_in_kib() {
        let status = b"Name:\tx\nVmSize:\t  123456 kB\nVmRSS:\t 42 kB\n";
        assert_eq!(field_kib(status, b"VmSize:"), Some(123456));
        assert_eq!(field_kib(status, b"VmRSS:"), Some(42));
        assert_eq!(field_kib(status, b"VmPTE:"), None);
    }

    #[test]
    fn an_ordinary_process_is_far_from_both_limits() {
        // Unless the test runs under a tight `ulimit -v`, 4 KiB more is fine.
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: only writes `rl`.
        unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) };
        if rl.rlim_cur == libc::RLIM_INFINITY {
            assert_eq!(address_space_limit(4096), None);
        }
        assert_eq!(map_count_limit(), None);
        assert!(count_lines(c"/proc/self/maps").unwrap() > 5);
    }

    #[test]
    fn enomem_elsewhere_stays_a_plain_mapping_error() {
        assert_eq!(
            map_failed(1 << 20, libc::EINVAL),
            Error::Map {
                size: 1 << 20,
                errno: libc::EINVAL
            }
        );
        assert_eq!(
            guard_failed(libc::EACCES),
            Error::GuardPage {
                errno: libc::EACCES
            }
        );
    }
}
