//! Recovering from a fault inside a coroutine
//! (`swapctx::coroutine::trap`): corosensei's trap-handler tests
//! (`trap_handler`, `trap_handler_panic`, `stack_overflow`) written for
//! swapctx's API, and each of the four signals on every architecture.
//!
//! Under memcheck (feature `valgrind`, as CI runs it) the tests that fault
//! on purpose are ignored: the recovery works there too, but memcheck
//! reports each deliberate invalid access as an error. Under
//! AddressSanitizer (feature `asan`) too: the switch a trap makes is not
//! announced to ASan, and LeakSanitizer reports what the abandoned frames
//! held.

// Traps redirect a signal handler's return: Unix only. Elsewhere the
// file is one test listed as ignored, with the reason.
#[cfg(unix)]
#[path = "."]
mod unix {
    #[path = "common/trap_handler.rs"]
    mod trap_handler;

    use std::backtrace::Backtrace;
    use std::cell::Cell;
    use std::ffi::c_void;
    use std::panic::{self, AssertUnwindSafe};
    use std::rc::Rc;

    use swapctx::coroutine::{abandoned_stacks, trap::TrapHandle};
    use swapctx::{on_stack, Coroutine, CoroutineResult, Stack};
    use trap_handler::{illegal_instruction, recurse_forever, running, segfault};

    /// The trap returns 42.
    unsafe fn return_42(h: TrapHandle<i32>, uc: *mut c_void, _sig: i32, _addr: usize) -> bool {
        // SAFETY: per the caller (the test handler's contract).
        unsafe { h.return_from_trap(uc, || 42) }
    }

    /// The trap returns the signal's number.
    unsafe fn return_signal(h: TrapHandle<i32>, uc: *mut c_void, sig: i32, _addr: usize) -> bool {
        // SAFETY: per the caller.
        unsafe { h.return_from_trap(uc, move || sig) }
    }

    /// The trap's closure panics.
    unsafe fn panic_foobar(h: TrapHandle<i32>, uc: *mut c_void, _sig: i32, _addr: usize) -> bool {
        // SAFETY: per the caller.
        unsafe { h.return_from_trap(uc, || panic!("foobar")) }
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn trap_handler() {
        let mut co = Coroutine::<(), i32, i32>::new(|y, ()| {
            segfault();
            y.suspend(1);
            2
        });
        let before = abandoned_stacks();
        let _on = running(co.trap_handle(), return_42);
        assert_eq!(co.resume(()), CoroutineResult::Return(42));
        assert!(co.is_done());
        drop(co);
        // The abandoned stack was leaked, not reused.
        assert!(abandoned_stacks() > before);
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn trap_handler_panic() {
        let mut co = Coroutine::<(), i32, i32>::new(|y, ()| {
            segfault();
            y.suspend(1);
            2
        });
        let _on = running(co.trap_handle(), panic_foobar);
        let r = panic::catch_unwind(AssertUnwindSafe(|| co.resume(())));
        assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "foobar");
        assert!(co.is_done());
        let again = panic::catch_unwind(AssertUnwindSafe(|| co.resume(())));
        assert!(again.is_err(), "a trapped coroutine cannot be resumed");
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn stack_overflow_through_a_trap_handler_twice_on_the_same_stack() {
        let body = |y: &swapctx::Yielder<(), i32>, ()| {
            recurse_forever(&mut [0; 100]);
            y.suspend(1);
            2
        };
        let mut co = Coroutine::<(), i32, i32>::with_stack(Stack::new(64 * 1024).unwrap(), body);
        let guard = co.stack().guard();
        {
            let _on = running(co.trap_handle(), return_42);
            assert_eq!(co.resume(()), CoroutineResult::Return(42));
        }
        // SAFETY: the frames left on the stack are plain recursion frames.
        let stack = unsafe { co.into_stack_after_trap() };
        assert_eq!(stack.guard(), guard, "the same stack comes back");
        let mut co = Coroutine::<(), i32, i32>::with_stack(stack, body);
        let _on = running(co.trap_handle(), return_42);
        assert_eq!(co.resume(()), CoroutineResult::Return(42));
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn into_stack_after_a_trap_gives_a_new_stack_and_leaks_the_old_one() {
        let mut co =
            Coroutine::<(), i32, i32>::with_stack(Stack::new(64 * 1024).unwrap(), |_, ()| {
                segfault();
                0
            });
        let old = co.stack().top();
        {
            let _on = running(co.trap_handle(), return_42);
            assert_eq!(co.resume(()), CoroutineResult::Return(42));
        }
        let before = abandoned_stacks();
        let stack = co.into_stack();
        assert!(abandoned_stacks() > before);
        assert_ne!(stack.top(), old);
        assert_eq!(stack.size(), 64 * 1024);
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn each_of_the_four_signals_is_recovered() {
        let faults: [(i32, fn()); 3] = [
            (libc::SIGSEGV, segfault),
            (libc::SIGILL, illegal_instruction),
            (libc::SIGFPE, divide_by_zero),
        ];
        for (sig, fault) in faults {
            let mut co = Coroutine::<(), i32, i32>::new(move |_, ()| {
                fault();
                0
            });
            let _on = running(co.trap_handle(), return_signal);
            assert_eq!(co.resume(()), CoroutineResult::Return(sig), "signal {sig}");
        }
        let mut co = Coroutine::<(), i32, i32>::new(|_, ()| {
            bus_error();
            0
        });
        let _on = running(co.trap_handle(), return_signal);
        assert_eq!(co.resume(()), CoroutineResult::Return(libc::SIGBUS));
    }

    /// An integer division by zero: a `SIGFPE` fault on x86_64. aarch64 and
    /// riscv64 do not trap on it (the quotient is defined), so there the
    /// signal is raised by the thread itself, which the handler sees the same
    /// way (interrupted on the coroutine's stack).
    #[inline(never)]
    fn divide_by_zero() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: faults; the handler redirects the coroutine.
        unsafe {
            std::arch::asm!("xor edx, edx", "div ecx", inout("eax") 1 => _, in("ecx") 0, out("edx") _);
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: raise(3); the handler redirects the coroutine.
        unsafe {
            libc::raise(libc::SIGFPE);
        }
    }

    /// A read past the end of a file that is mapped: `SIGBUS`.
    #[inline(never)]
    fn bus_error() {
        // SAFETY: an empty temporary file mapped one page long; the read
        // faults and the handler redirects the coroutine.
        unsafe {
            let fd = libc::memfd_create(c"swapctx-trap".as_ptr(), 0);
            assert!(fd >= 0);
            let p = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            libc::close(fd);
            std::ptr::read_volatile(p.cast::<u8>());
        }
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn the_resumer_goes_on_normally_after_a_trap() {
        let mut co = Coroutine::<(), i32, i32>::new(|_, ()| {
            illegal_instruction();
            0
        });
        {
            let _on = running(co.trap_handle(), return_42);
            assert_eq!(co.resume(()), CoroutineResult::Return(42));
        }
        assert!(!std::thread::panicking());
        let mut next = Coroutine::<i32, i32, i32>::new(|y, x| y.suspend(x + 1) * 2);
        assert_eq!(next.resume(1), CoroutineResult::Yield(2));
        assert_eq!(next.resume(5), CoroutineResult::Return(10));
        let caught = panic::catch_unwind(|| panic!("a panic still works"));
        assert!(caught.is_err());
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn a_trap_in_a_nested_coroutine_returns_to_the_outer_one() {
        let mut outer = Coroutine::<(), i32, i32>::new(|y, ()| {
            let mut inner = Coroutine::<(), i32, i32>::new(|_, ()| {
                segfault();
                0
            });
            let _on = running(inner.trap_handle(), return_42);
            let r = inner.resume(());
            assert!(inner.is_done());
            y.suspend(match r {
                CoroutineResult::Return(v) => v,
                CoroutineResult::Yield(_) => -1,
            });
            7
        });
        assert_eq!(outer.resume(()), CoroutineResult::Yield(42));
        assert_eq!(outer.resume(()), CoroutineResult::Return(7));
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn values_on_the_abandoned_frames_are_not_dropped() {
        struct SetOnDrop(Rc<Cell<bool>>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let mut co = Coroutine::<(), i32, i32>::new(move |_, ()| {
            let _keep = SetOnDrop(d);
            segfault();
            0
        });
        let _on = running(co.trap_handle(), return_42);
        assert_eq!(co.resume(()), CoroutineResult::Return(42));
        drop(co);
        assert!(!dropped.get(), "no unwinding through the faulting frames");
    }

    #[inline(never)]
    fn capture_in_trap() -> i32 {
        let bt = Backtrace::force_capture().to_string();
        let found = bt.contains("resumes_the_trapped_coroutine");
        BACKTRACE_OK.with(|b| b.set(found));
        if !found {
            eprintln!("{bt}");
        }
        42
    }

    thread_local! {
        static BACKTRACE_OK: Cell<bool> = const { Cell::new(false) };
    }

    unsafe fn return_with_backtrace(
        h: TrapHandle<i32>,
        uc: *mut c_void,
        _sig: i32,
        _addr: usize,
    ) -> bool {
        // SAFETY: per the caller.
        unsafe { h.return_from_trap(uc, capture_in_trap) }
    }

    #[inline(never)]
    fn resumes_the_trapped_coroutine() -> CoroutineResult<i32, i32> {
        let mut co = Coroutine::<(), i32, i32>::new(|_, ()| {
            segfault();
            0
        });
        let _on = running(co.trap_handle(), return_with_backtrace);
        co.resume(())
    }

    #[test]
    #[cfg_attr(
        any(feature = "valgrind", feature = "asan"),
        ignore = "the sanitizers report the deliberate fault"
    )]
    fn a_backtrace_in_the_traps_closure_reaches_the_resumer() {
        assert_eq!(resumes_the_trapped_coroutine(), CoroutineResult::Return(42));
        assert!(
            BACKTRACE_OK.with(|b| b.get()),
            "backtrace stops at the trap"
        );
    }

    /// A `ucontext_t` whose stack pointer is `sp` (nothing else set).
    fn context_with_sp(sp: usize) -> Box<libc::ucontext_t> {
        // SAFETY: all-zero is a valid ucontext_t (plain integers and pointers).
        let mut uc: Box<libc::ucontext_t> = Box::new(unsafe { std::mem::zeroed() });
        #[cfg(target_arch = "x86_64")]
        {
            uc.uc_mcontext.gregs[libc::REG_RSP as usize] = sp as i64;
        }
        #[cfg(target_arch = "aarch64")]
        {
            uc.uc_mcontext.sp = sp as u64;
        }
        #[cfg(target_arch = "riscv64")]
        {
            uc.uc_mcontext.__gregs[libc::REG_SP] = sp as libc::c_ulong;
        }
        #[cfg(target_arch = "powerpc64")]
        {
            uc.uc_mcontext.gp_regs[1] = sp as libc::c_ulong;
        }
        #[cfg(target_arch = "s390x")]
        {
            uc.uc_mcontext.gregs[15] = sp as u64;
        }
        #[cfg(target_arch = "x86")]
        {
            uc.uc_mcontext.gregs[libc::REG_ESP as usize] = sp as i32;
        }
        #[cfg(target_arch = "arm")]
        {
            uc.uc_mcontext.arm_sp = sp as libc::c_ulong;
        }
        uc
    }

    #[test]
    fn a_context_not_on_the_coroutines_stack_is_refused_and_left_alone() {
        let co = Coroutine::<(), i32, i32>::new(|_, ()| 0);
        let h = co.trap_handle();
        let mut other = Stack::new(64 * 1024).unwrap();
        for sp in [
            co.stack().top() as usize,                         // just above
            co.stack().guard().0 as usize - 16,                // just below the guard
            on_stack(&mut other, trap_handler::stack_pointer), // another stack
        ] {
            let mut uc = context_with_sp(sp);
            // SAFETY: a ucontext_t is larger than 64 bytes; plain bytes.
            let before: [u8; 64] = unsafe { std::mem::transmute_copy(&*uc) };
            // SAFETY: the context is refused before anything is written.
            let redirected =
                unsafe { h.return_from_trap((&mut *uc as *mut libc::ucontext_t).cast(), || 1) };
            assert!(!redirected, "sp {sp:#x}");
            // SAFETY: as for `before`.
            let after: [u8; 64] = unsafe { std::mem::transmute_copy(&*uc) };
            assert_eq!(before, after);
        }
    }

    #[test]
    fn a_closure_that_does_not_fit_above_the_stack_pointer_is_refused() {
        let co = Coroutine::<(), i32, i32>::new(|_, ()| 0);
        let h = co.trap_handle();
        // A stack pointer 64 bytes under the top: no room for 4 KiB.
        let mut uc = context_with_sp(co.stack().top() as usize - 64);
        let big = [1u8; 4096];
        // SAFETY: refused before anything is written.
        let redirected = unsafe {
            h.return_from_trap((&mut *uc as *mut libc::ucontext_t).cast(), move || {
                big[0] as i32
            })
        };
        assert!(!redirected);
    }
}

#[cfg(not(unix))]
#[test]
#[ignore = "trap recovery (swapctx::coroutine::trap) redirects a signal handler's return: Unix only"]
fn trap() {}
