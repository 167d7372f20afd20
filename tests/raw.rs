//! The raw, symmetric layer and `Stack`: direct hops between contexts, work
//! on fresh stacks that would expose a misaligned stack, the guard page, and
//! every bad stack size.

use std::ffi::c_void;
use std::fmt::Write as _;
use std::ptr;

use swapctx::raw::{self, Context};
use swapctx::{Error, Stack};

// ---------------------------------------------------------------------------
// A symmetric ring: each context hops straight to the next one.

const RING: usize = 8;
const LAPS: usize = 1000;

struct Ring {
    main: Context,
    ctxs: [Context; RING],
    order: Vec<usize>,
}

struct Member {
    ring: *mut Ring,
    id: usize,
}

unsafe extern "C" fn ring_entry(mut value: usize, data: *mut c_void) -> ! {
    // SAFETY: `data` is this context's Member, alive for the whole test.
    let Member { ring, id } = unsafe { ptr::read(data.cast::<Member>()) };
    loop {
        // SAFETY: the ring outlives every context; only the running context
        // touches it.
        unsafe {
            (*ring).order.push(id);
            value += 1;
            let to = if value == RING * LAPS {
                std::mem::take(&mut (*ring).main)
            } else {
                std::mem::take(&mut (*ring).ctxs[(id + 1) % RING])
            };
            value = raw::switch(&mut (*ring).ctxs[id], to, value);
        }
    }
}

#[test]
fn a_ring_of_contexts_passes_a_counter_directly() {
    let stacks: Vec<Stack> = (0..RING).map(|_| Stack::new(64 * 1024).unwrap()).collect();
    let mut ring = Box::new(Ring {
        main: Context::empty(),
        ctxs: std::array::from_fn(|_| Context::empty()),
        order: Vec::with_capacity(RING * LAPS),
    });
    let rp: *mut Ring = &mut *ring;
    let mut members: Vec<Member> = (0..RING).map(|id| Member { ring: rp, id }).collect();
    for (id, stack) in stacks.iter().enumerate() {
        // SAFETY: every stack outlives the ring's switches; ring_entry never
        // returns.
        let ctx = unsafe {
            Context::new(
                stack.top(),
                ring_entry,
                ptr::addr_of_mut!(members[id]).cast(),
            )
        };
        // SAFETY: rp points at the boxed ring.
        unsafe { (*rp).ctxs[id] = ctx };
    }
    // SAFETY: context 0 is fresh; the last hop comes back into `main`.
    let last = unsafe {
        let first = std::mem::take(&mut (*rp).ctxs[0]);
        raw::switch(&mut (*rp).main, first, 0)
    };
    assert_eq!(last, RING * LAPS);
    assert_eq!(ring.order.len(), RING * LAPS);
    for (i, id) in ring.order.iter().enumerate() {
        assert_eq!(*id, i % RING, "hop {i} visited context {id}");
    }
}

// ---------------------------------------------------------------------------
// Work that exposes a misaligned stack: SIMD-aligned locals, f64
// formatting, and C varargs.

#[repr(C, align(16))]
struct Aligned([f64; 2]);

struct Work {
    main: Context,
    this: Context,
    aligned_ok: bool,
    formatted: String,
    c_formatted: String,
}

#[inline(never)]
fn aligned_local_address() -> usize {
    let a = Aligned([1.5, 2.5]);
    let p = std::hint::black_box(&a) as *const Aligned as usize;
    assert_eq!(a.0[0] + a.0[1], 4.0);
    p
}

unsafe extern "C" fn work_entry(_value: usize, data: *mut c_void) -> ! {
    let w = data.cast::<Work>();
    // SAFETY: `w` outlives this context, which runs until its last switch.
    unsafe {
        (*w).aligned_ok = aligned_local_address() % 16 == 0;
        let x = std::hint::black_box(std::f64::consts::PI * 1e3);
        (*w).formatted = format!("{x:.6} {:e} {}", x / 7.0, 0.1f64 + 0.2);
        let mut buf = [0u8; 128];
        let n = libc::snprintf(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%.4f|%d|%s|%g".as_ptr(),
            std::hint::black_box(2.5f64 / 3.0),
            -42i32,
            c"ok".as_ptr(),
            std::hint::black_box(1e-7f64),
        );
        (*w).c_formatted = String::from_utf8_lossy(&buf[..n as usize]).into_owned();
        let main = std::mem::take(&mut (*w).main);
        raw::switch(&mut (*w).this, main, 1);
    }
    unreachable!("nothing resumes this context again")
}

#[test]
fn a_fresh_stack_is_aligned_for_simd_formatting_and_varargs() {
    let stack = Stack::new(Stack::MIN_SIZE).unwrap();
    let mut w = Box::new(Work {
        main: Context::empty(),
        this: Context::empty(),
        aligned_ok: false,
        formatted: String::new(),
        c_formatted: String::new(),
    });
    let wp: *mut Work = &mut *w;
    // SAFETY: the stack outlives the context; work_entry ends with a switch
    // back to main and is never resumed.
    let got = unsafe {
        (*wp).this = Context::new(stack.top(), work_entry, wp.cast());
        let fresh = std::mem::take(&mut (*wp).this);
        raw::switch(&mut (*wp).main, fresh, 0)
    };
    assert_eq!(got, 1);
    assert!(w.aligned_ok, "a 16-byte aligned local was misaligned");
    // The same formatting on the thread's own stack must agree.
    let x = std::f64::consts::PI * 1e3;
    assert_eq!(
        w.formatted,
        format!("{x:.6} {:e} {}", x / 7.0, 0.1f64 + 0.2)
    );
    assert!(
        w.formatted.starts_with("3141.592654 4.48798950512827"),
        "{}",
        w.formatted
    );
    // Windows' C runtime (msvcrt) prints at least three exponent digits.
    let c_want = if cfg!(windows) {
        "0.8333|-42|ok|1e-007"
    } else {
        "0.8333|-42|ok|1e-07"
    };
    assert_eq!(w.c_formatted, c_want);
}

// ---------------------------------------------------------------------------
// The guard page and sizes.

/// (start, end, perms) of every mapping.
fn maps() -> Vec<(usize, usize, String)> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let range = parts.next().unwrap();
            let perms = parts.next().unwrap().to_string();
            let (a, b) = range.split_once('-').unwrap();
            (
                usize::from_str_radix(a, 16).unwrap(),
                usize::from_str_radix(b, 16).unwrap(),
                perms,
            )
        })
        .collect()
}

#[cfg(unix)]
fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Windows x64 pages are 4 KiB.
#[cfg(windows)]
fn page() -> usize {
    4096
}

#[test]
#[cfg_attr(
    windows,
    ignore = "reads /proc/self/maps; src/stack/windows.rs checks the Windows layout"
)]
fn the_guard_page_is_mapped_without_access_right_below_the_stack() {
    let stack = Stack::new(128 * 1024).unwrap();
    let (guard, guard_len) = stack.guard();
    assert_eq!(guard as usize + guard_len, stack.bottom() as usize);
    assert!(guard_len >= page());
    let bottom = stack.bottom() as usize;
    let top = stack.top() as usize;
    let maps = maps();
    // The usable stack is readable and writable...
    let usable = maps
        .iter()
        .find(|(s, e, _)| *s <= bottom && top <= *e)
        .unwrap_or_else(|| panic!("no mapping holds the stack {bottom:#x}..{top:#x}"));
    assert!(usable.2.starts_with("rw"), "stack mapping is {}", usable.2);
    // ...and the bytes right below it are not: either a separate `---p`
    // mapping (mprotect guard) or, with in-place guard regions, a range the
    // kernel faults on, which the fault test in tests/crashes.rs checks.
    let below = maps.iter().find(|(s, e, _)| *s < bottom && bottom <= *e);
    match below {
        Some((s, e, perms)) if usable.0 == bottom => {
            assert_eq!(perms, "---p", "mapping below the stack is {perms}");
            assert_eq!(*e, bottom);
            assert!(*s <= guard as usize);
        }
        // qemu-user for 32-bit guests (qemu-i386, qemu-arm 7.2) may leave
        // inaccessible pages out of the /proc/self/maps it emulates; Linux
        // lists every mapping.
        None if usable.0 == bottom && cfg!(target_pointer_width = "32") => {
            println!(
                "skipped: no mapping listed below the stack (qemu-user for 32-bit \
                 guests may not list PROT_NONE pages); tests/crashes.rs checks that \
                 the guard faults"
            );
        }
        _ => {
            // One mapping for stack and guard: only possible with in-place
            // guard regions (MADV_GUARD_INSTALL).
            assert!(
                usable.0 <= guard as usize,
                "no guard below the stack {bottom:#x}: {usable:x?}, below it {below:x?}"
            );
        }
    }
    // SAFETY: the lowest usable byte of our own live stack.
    unsafe {
        stack.bottom().write_volatile(7);
        assert_eq!(stack.bottom().read_volatile(), 7);
    }
    // That touching the guard faults (and is reported as an overflow) is
    // checked in a child process by tests/crashes.rs.
}

#[test]
fn sizes_are_rounded_up_to_pages_and_the_minimum() {
    let p = page();
    assert_eq!(Stack::new(1).unwrap().size(), Stack::MIN_SIZE);
    assert_eq!(Stack::new(Stack::MIN_SIZE).unwrap().size(), Stack::MIN_SIZE);
    assert_eq!(
        Stack::new(Stack::MIN_SIZE + 1).unwrap().size(),
        Stack::MIN_SIZE + p
    );
    let s = Stack::new(1 << 20).unwrap();
    assert_eq!(s.size(), 1 << 20);
    assert_eq!(s.top() as usize % 16, 0);
    assert_eq!(
        Stack::with_default_size().unwrap().size(),
        Stack::DEFAULT_SIZE
    );
    // Memory is committed lazily: a large stack is cheap to make (4 GiB,
    // or 256 MiB in a 32-bit address space, where the other tests' stacks
    // leave no gigabyte free for certain).
    let big_size = 1usize << (usize::BITS - 4).min(32);
    let big = Stack::new(big_size).unwrap();
    assert_eq!(big.size(), big_size);
}

#[test]
fn every_bad_size_gets_its_error() {
    let e = Stack::new(0).unwrap_err();
    assert_eq!(e, Error::ZeroStackSize);
    assert!(e.to_string().contains("0 bytes"), "{e}");

    for size in [usize::MAX, usize::MAX - page() + 2, isize::MAX as usize] {
        let e = Stack::new(size).unwrap_err();
        assert_eq!(
            e,
            Error::StackSizeOverflow { requested: size },
            "size {size}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains(&size.to_string()) && msg.contains("too large"),
            "{msg}"
        );
    }

    // Fits in the types, but no kernel maps 2^62 bytes: Linux says ENOMEM
    // (Valgrind's mmap wrapper says EINVAL); the message names it. (With
    // 32-bit pointers every size that fits in the types is under 2 GiB,
    // which a kernel may well map: there the largest one is asked for, and
    // the error checked only if the kernel refuses.)
    let size = if cfg!(target_pointer_width = "64") {
        1usize << (usize::BITS - 2)
    } else {
        isize::MAX as usize - Stack::DEFAULT_GUARD_SIZE - 2 * page()
    };
    let e = match Stack::new(size) {
        Err(e) => e,
        Ok(_) if cfg!(target_pointer_width = "32") => {
            println!("skipped: the kernel mapped {size} bytes; no mapping error to check");
            return;
        }
        Ok(_) => panic!("{size} bytes were mapped"),
    };
    // Windows' VirtualAlloc says ERROR_INVALID_PARAMETER (87) or
    // ERROR_NOT_ENOUGH_MEMORY (8), and the message gives the system's code.
    #[cfg(windows)]
    let name = match e {
        Error::Map { size: s, errno } => {
            assert!(s > size);
            assert!(errno == 87 || errno == 8, "error {errno}");
            if errno == 87 {
                "os error 87"
            } else {
                "os error 8"
            }
        }
        other => panic!("expected a mapping error, got {other:?}"),
    };
    #[cfg(unix)]
    let name = match e {
        Error::Map { size: s, errno } => {
            assert!(s > size);
            assert!(
                errno == libc::ENOMEM || errno == libc::EINVAL,
                "errno {errno}"
            );
            if errno == libc::ENOMEM {
                "ENOMEM"
            } else {
                "EINVAL"
            }
        }
        other => panic!("expected a mapping error, got {other:?}"),
    };
    let msg = e.to_string();
    assert!(
        msg.contains("refused to map") && msg.contains(name),
        "{msg}"
    );

    // The error is a std error with a source-free, printable message.
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    let mut s = String::new();
    write!(s, "{boxed}").unwrap();
    assert!(!s.is_empty());
}

#[test]
#[cfg_attr(windows, ignore = "reads /proc/self/maps, which Windows lacks")]
fn dropping_a_stack_unmaps_it() {
    let stack = Stack::new(64 * 1024).unwrap();
    let (bottom, top) = (stack.bottom() as usize, stack.top() as usize);
    assert!(maps().iter().any(|(s, e, _)| *s <= bottom && top <= *e));
    drop(stack);
    // Another thread may map something at the same place; this process's
    // tests run on threads, so check the range is at least not the same
    // read-write stack mapping of exactly this size with a guard below.
    let still = maps()
        .iter()
        .any(|(s, e, p)| *s == bottom && *e == top && p == "rw-p");
    assert!(!still, "the stack is still mapped after drop");
}
