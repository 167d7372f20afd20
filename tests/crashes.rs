//! Crashes that must be clear: each scenario runs in a forked child (this
//! file has its own `main`, `harness = false`, so the process is
//! single-threaded when it forks), and the parent checks the child's stderr
//! and how it died.
//!
//! - a coroutine that recurses without end, and one with a single frame
//!   larger than its stack, hit the guard page: the message names the
//!   stack's bounds and the process aborts;
//! - a thread that overflows its own stack after swapctx installed its
//!   handler still gets Rust's own report;
//! - a fault that is not in a guard page still kills with SIGSEGV;
//! - a raw context whose entry function returns aborts with a message;
//! - both kinds of guard page (in place with `MADV_GUARD_INSTALL`, and the
//!   `mprotect` fallback, forced by `Stack::new_with` or by the
//!   `SWAPCTX_GUARD=mprotect` environment variable) give the same message;
//! - at the kernel's limits (`RLIMIT_AS`, `vm.max_map_count` on the
//!   `mprotect` path) `Stack::new` returns an error that names the limit,
//!   and the process goes on.

// Forks, and overflows stacks into the signal handler
// (tests/crashes_windows.rs is the Windows counterpart): Unix only.
// Elsewhere the file is one check listed as ignored, with the reason.
#[cfg(unix)]
#[path = "."]
mod unix {
    use std::ffi::c_void;
    use std::hint::black_box;

    use swapctx::raw::{self, Context};
    use swapctx::{Coroutine, Error, GuardKind, Stack, Yielder};

    #[path = "common/child.rs"]
    mod child;

    use child::{in_child, Outcome};

    /// Prints the stack's bounds the way the overflow message does.
    fn announce(stack: &Stack) {
        eprintln!(
            "bounds {:#x}..{:#x}",
            stack.bottom() as usize,
            stack.top() as usize
        );
    }

    #[inline(never)]
    fn recurse(depth: u64) -> u64 {
        let pad = black_box([depth; 16]);
        if black_box(depth) == u64::MAX {
            return 0;
        }
        recurse(depth + 1) + pad[3]
    }

    fn deep_recursion() {
        let stack = Stack::new(64 * 1024).unwrap();
        announce(&stack);
        let mut co =
            Coroutine::<(), (), u64>::with_stack(stack, |_y: &Yielder<(), ()>, ()| recurse(0));
        let _ = co.resume(());
    }

    /// A function whose one frame holds `N` bytes of locals, written from the
    /// lowest address up (as a large local array is).
    #[inline(never)]
    fn frame_of<const N: usize>() -> u8 {
        let buf = black_box([1u8; N]);
        buf[black_box(100)]
    }

    /// Runs a frame of `N` bytes in a coroutine on a stack of `stack_size`.
    fn large_frame_on<const N: usize>(stack_size: usize) {
        let stack = Stack::new(stack_size).unwrap();
        announce(&stack);
        eprintln!("guard {} bytes", stack.guard().1);
        let mut co = Coroutine::<(), (), u8>::with_stack(stack, |_, ()| frame_of::<N>());
        let _ = co.resume(());
    }

    fn large_frame() {
        large_frame_on::<{ 512 * 1024 }>(64 * 1024);
    }

    fn frame_64k_on_a_16k_stack() {
        large_frame_on::<{ 64 * 1024 }>(Stack::MIN_SIZE);
    }

    fn frame_1m_on_a_64k_stack() {
        large_frame_on::<{ 1024 * 1024 }>(64 * 1024);
    }

    fn frame_4m_on_a_256k_stack() {
        large_frame_on::<{ 4 * 1024 * 1024 }>(256 * 1024);
    }

    /// The wrapping sum of every word of `[lo, hi)`.
    ///
    /// # Safety
    /// The range must be readable, word-aligned memory.
    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    unsafe fn checksum(lo: usize, hi: usize) -> u64 {
        let mut sum = 0u64;
        let mut p = lo;
        while p < hi {
            // SAFETY: per the contract.
            sum = sum.rotate_left(5) ^ unsafe { std::ptr::read_volatile(p as *const u64) };
            p += 8;
        }
        sum
    }

    /// The neighbour's usable range and its checksum before the overflow, for
    /// the SIGABRT handler of `neighbour_survives_a_large_frame`.
    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    static NEIGHBOUR: [std::sync::atomic::AtomicUsize; 3] = [
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::atomic::AtomicUsize::new(0),
    ];

    // qemu-i386 (7.2) aligns a signal handler's frame to 8 bytes, where Linux
    // aligns it to 16 as the i386 ABI wants; compiled SSE code (`movaps` to the
    // stack) then faults in the handler. On x86 the handler is entered through
    // this stub, which realigns the stack and calls it with the same arguments.
    #[cfg(target_arch = "x86")]
    core::arch::global_asm!(
        ".pushsection .text",
        ".globl swapctx_test_check_neighbour_realigned",
        ".hidden swapctx_test_check_neighbour_realigned",
        ".type swapctx_test_check_neighbour_realigned, @function",
        "swapctx_test_check_neighbour_realigned:",
        "pushl %ebp",
        "movl %esp, %ebp",
        "andl $-16, %esp",
        "subl $4, %esp",
        "pushl 16(%ebp)",
        "pushl 12(%ebp)",
        "pushl 8(%ebp)",
        "calll {handler}",
        "leave",
        "retl",
        ".popsection",
        handler = sym check_neighbour_on_abort,
        options(att_syntax),
    );
    #[cfg(target_arch = "x86")]
    extern "C" {
        fn swapctx_test_check_neighbour_realigned();
    }

    /// Runs after swapctx's report: checks the neighbour and says so.
    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    extern "C" fn check_neighbour_on_abort(_sig: libc::c_int) {
        use std::sync::atomic::Ordering::Relaxed;
        let (lo, hi, want) = (
            NEIGHBOUR[0].load(Relaxed),
            NEIGHBOUR[1].load(Relaxed),
            NEIGHBOUR[2].load(Relaxed),
        );
        // SAFETY: the neighbour's stack is mapped (its coroutine is suspended,
        // alive); write and _exit are async-signal-safe.
        unsafe {
            let msg: &[u8] = if checksum(lo, hi) as usize == want {
                b"neighbour unchanged\n"
            } else {
                b"neighbour CHANGED\n"
            };
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(0);
        }
    }

    /// Where the layout puts a suspended coroutine's stack right below a stack
    /// whose coroutine runs a 4 MiB frame (larger than the whole first stack):
    /// the frame must end in the overflow message, and the neighbour's memory
    /// must be exactly as it was.
    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    fn neighbour_survives_a_large_frame() {
        use std::sync::atomic::Ordering::Relaxed;
        // Two stacks mapped one after the other usually touch: the kernel maps
        // top-down (the second lands right below the first one's guard),
        // qemu-user bottom-up. Try a few times.
        let mut tries = Vec::new();
        let (upper, lower) = loop {
            let a = Stack::new(64 * 1024).unwrap();
            let b = Stack::new(64 * 1024).unwrap();
            if std::ptr::eq(b.top(), a.guard().0) {
                break (a, b);
            }
            if std::ptr::eq(a.top(), b.guard().0) {
                break (b, a);
            }
            tries.push((a, b));
            if tries.len() == 8 {
                println!("skipped: no two stacks were mapped next to each other here");
                return;
            }
        };
        announce(&upper);
        let (lo, hi) = (lower.bottom() as usize, lower.top() as usize);
        // The neighbour fills most of its stack with a pattern and suspends.
        let mut neighbour = Coroutine::<(), u64, ()>::with_stack(lower, |y, ()| {
            let mut data = [0u64; 5000];
            for (i, d) in data.iter_mut().enumerate() {
                *d = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            }
            black_box(&mut data);
            y.suspend(data[black_box(17)]);
            black_box(&data);
        });
        let _ = neighbour.resume(());
        // SAFETY: the neighbour's stack, mapped, and not running now.
        let before = unsafe { checksum(lo, hi) };
        NEIGHBOUR[0].store(lo, Relaxed);
        NEIGHBOUR[1].store(hi, Relaxed);
        NEIGHBOUR[2].store(before as usize, Relaxed);
        // SAFETY: installs a handler for SIGABRT in this child, on the
        // alternate stack (abort is called from swapctx's handler, there).
        // That stack then holds two signal frames and both handlers: the
        // standard library's (SIGSTKSZ, 8 KiB on i686) is too small for them
        // under qemu-i386, so the child gets a 64 KiB one (leaked with it).
        unsafe {
            let len = 64 * 1024;
            let mem = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(mem, libc::MAP_FAILED);
            let ss = libc::stack_t {
                ss_sp: mem,
                ss_flags: 0,
                ss_size: len,
            };
            assert_eq!(libc::sigaltstack(&ss, std::ptr::null_mut()), 0);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = check_neighbour_on_abort as *const () as usize;
            #[cfg(target_arch = "x86")]
            {
                action.sa_sigaction = swapctx_test_check_neighbour_realigned as *const () as usize;
            }
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGABRT, &action, std::ptr::null_mut());
        }
        let mut co =
            Coroutine::<(), (), u8>::with_stack(upper, |_, ()| frame_of::<{ 4 * 1024 * 1024 }>());
        let _ = co.resume(());
        // Not reached if the frame faulted; if it did not, say what happened.
        // SAFETY: as above.
        let after = unsafe { checksum(lo, hi) };
        println!(
            "the frame ran without a fault; neighbour {}",
            if after == before {
                "unchanged"
            } else {
                "CHANGED"
            }
        );
        std::process::exit(3);
    }

    /// Leaves about `left` bytes of the coroutine's stack above `bottom`, then
    /// raises SIGUSR1, whose handler does not run on the alternate stack: the
    /// kernel cannot push its frame.
    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    #[inline(never)]
    fn use_stack_until(bottom: usize, left: usize) -> u64 {
        let here = black_box([0u64; 4]);
        let sp = here.as_ptr() as usize;
        if sp - bottom < left {
            // Straight to the system call: `raise` and printing need more
            // stack than is left.
            // SAFETY: sends SIGUSR1, whose handler is set, to this thread.
            unsafe {
                libc::syscall(
                    libc::SYS_tgkill,
                    libc::getpid(),
                    libc::syscall(libc::SYS_gettid),
                    libc::SIGUSR1,
                )
            };
            return 1;
        }
        use_stack_until(bottom, left) + black_box(here[1])
    }

    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    extern "C" fn on_usr1(_sig: libc::c_int) {
        let msg = b"SIGUSR1 handler ran\n";
        // SAFETY: write is async-signal-safe.
        unsafe { libc::write(1, msg.as_ptr().cast(), msg.len()) };
    }

    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    fn set_usr1_handler() {
        // SAFETY: a plain handler, without SA_ONSTACK, for this child.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_usr1 as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
        }
    }

    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    fn signal_without_room_on_a_coroutine_stack() {
        set_usr1_handler();
        let stack = Stack::new(64 * 1024).unwrap();
        announce(&stack);
        let bottom = stack.bottom() as usize;
        let mut co =
            Coroutine::<(), (), u64>::with_stack(stack, move |_, ()| use_stack_until(bottom, 768));
        let _ = co.resume(());
        println!("SIGUSR1 was handled or lost");
        std::process::exit(3);
    }

    /// The same on a stack that swapctx does not know: a plain mapping with a
    /// guard page, run as a raw context.
    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    fn signal_without_room_elsewhere() {
        set_usr1_handler();
        let _installs_the_handler = Stack::new(64 * 1024).unwrap();
        const LEN: usize = 64 * 1024;
        // SAFETY: a fresh private mapping whose first page is made inaccessible;
        // the context below runs on the rest and never returns.
        unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(m, libc::MAP_FAILED);
            assert_eq!(libc::mprotect(m, 4096, libc::PROT_NONE), 0);
            let bottom = m as usize + 4096;
            let ctx = Context::new(
                (m as usize + LEN) as *mut u8,
                raw_near_bottom,
                bottom as *mut c_void,
            );
            raw::switch(&mut *std::ptr::addr_of_mut!(SLOT), ctx, 0);
        }
        std::process::exit(3);
    }

    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    unsafe extern "C" fn raw_near_bottom(_value: usize, data: *mut c_void) -> ! {
        use_stack_until(data as usize, 768);
        println!("SIGUSR1 was handled or lost");
        std::process::exit(3);
    }

    fn sigsegv_sent_with_kill() {
        let _installs_the_handler = Stack::new(64 * 1024).unwrap();
        // SAFETY: sends this process a signal.
        unsafe { libc::kill(libc::getpid(), libc::SIGSEGV) };
        println!("SIGSEGV from kill was lost");
        std::process::exit(3);
    }

    /// While swapctx installs its handler, another thread keeps faulting on
    /// pages that the program's own SIGSEGV handler makes accessible: every one
    /// of those faults must reach the program's handler.
    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    static FAULT_PAGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    extern "C" fn program_handler(
        _sig: libc::c_int,
        info: *mut libc::siginfo_t,
        _ctx: *mut c_void,
    ) {
        // SAFETY: a fault's siginfo; mprotect is async-signal-safe in practice
        // (a system call), and the page is one of ours.
        unsafe {
            let addr = (*info).si_addr() as usize & !4095;
            let base = FAULT_PAGES.load(std::sync::atomic::Ordering::Relaxed);
            if addr < base || addr >= base + 4096 * 4096 {
                libc::_exit(4);
            }
            libc::mprotect(
                addr as *mut c_void,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
            );
        }
    }

    #[cfg_attr(any(feature = "valgrind", feature = "asan"), allow(dead_code))] // see the checks that run it
    fn install_races_with_faults_on_another_thread() {
        const PAGES: usize = 4096;
        // SAFETY: a fresh mapping, all pages inaccessible; the program handler
        // (installed before swapctx's) opens each page on its first touch.
        unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                PAGES * 4096,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(m, libc::MAP_FAILED);
            FAULT_PAGES.store(m as usize, std::sync::atomic::Ordering::Relaxed);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = program_handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
        }
        let base = FAULT_PAGES.load(std::sync::atomic::Ordering::Relaxed);
        let toucher = std::thread::spawn(move || {
            for i in 0..PAGES {
                // SAFETY: a page of the mapping above; faults are handled.
                unsafe { std::ptr::write_volatile((base + i * 4096) as *mut u8, 1) };
            }
        });
        // The first stack installs swapctx's handler while the faults go on.
        let stack = Stack::new(64 * 1024).unwrap();
        toucher.join().unwrap();
        // After the install too: a fault that is not an overflow goes to the
        // program's handler.
        // SAFETY: as above.
        unsafe { std::ptr::write_volatile((base + (PAGES - 1) * 4096 + 8) as *mut u8, 2) };
        drop(stack);
        println!("every fault reached the program's handler");
    }

    thread_local! {
        static OVERFLOW_ON_EXIT: OverflowOnDrop = const { OverflowOnDrop };
    }

    struct OverflowOnDrop;

    impl Drop for OverflowOnDrop {
        fn drop(&mut self) {
            deep_recursion();
        }
    }

    /// A thread-local whose destructor overflows a coroutine's stack, after
    /// Rust freed the thread's own alternate signal stack: the thread used the
    /// thread-local, then ran a coroutine.
    fn overflow_in_a_thread_local_destructor_after_a_coroutine() {
        std::thread::spawn(|| {
            OVERFLOW_ON_EXIT.with(|_| ());
            let mut co = Coroutine::<(), (), u8>::new(|_, ()| 1);
            let _ = co.resume(());
        })
        .join()
        .unwrap();
        println!("the thread exited");
    }

    fn overflow_in_a_thread_local_destructor_of_a_fresh_thread() {
        std::thread::spawn(|| OVERFLOW_ON_EXIT.with(|_| ()))
            .join()
            .unwrap();
        println!("the thread exited");
    }

    extern "C" {
        fn swapctx_stack_new(size: usize, stack_out: *mut *mut c_void) -> libc::c_int;
        fn swapctx_context_new(
            stack: *mut c_void,
            entry: unsafe extern "C" fn(usize, *mut c_void),
            data: *mut c_void,
            context_out: *mut Context,
        ) -> libc::c_int;
        fn swapctx_context_switch(
            save: *mut Context,
            to: *mut Context,
            value: usize,
            received: *mut usize,
        ) -> libc::c_int;
    }

    unsafe extern "C" fn c_entry_recurses(_value: usize, _data: *mut c_void) {
        recurse(0);
    }

    extern "C" fn pthread_body(_arg: *mut c_void) -> *mut c_void {
        // SAFETY: the C API used as a C program would; the context overflows
        // and never switches back.
        unsafe {
            let mut stack = std::ptr::null_mut();
            assert_eq!(swapctx_stack_new(64 * 1024, &mut stack), 0);
            let mut ctx = Context::empty();
            assert_eq!(
                swapctx_context_new(stack, c_entry_recurses, std::ptr::null_mut(), &mut ctx),
                0
            );
            let mut back = Context::empty();
            swapctx_context_switch(&mut back, &mut ctx, 0, std::ptr::null_mut());
        }
        std::ptr::null_mut()
    }

    fn c_api_context_overflows_on_a_pthread() {
        // SAFETY: a plain pthread running `pthread_body`, joined.
        unsafe {
            let mut t: libc::pthread_t = std::mem::zeroed();
            assert_eq!(
                libc::pthread_create(&mut t, std::ptr::null(), pthread_body, std::ptr::null_mut()),
                0
            );
            libc::pthread_join(t, std::ptr::null_mut());
        }
        println!("the thread exited");
    }

    fn thread_overflow_after_swapctx() {
        // Installs swapctx's handler (and runs a coroutine, for good measure).
        let mut co = Coroutine::<(), (), u8>::new(|_, ()| 1);
        let _ = co.resume(());
        let t = std::thread::Builder::new()
            .name("deep".into())
            .stack_size(128 * 1024)
            .spawn(|| recurse(0))
            .unwrap();
        let _ = t.join();
    }

    fn fault_elsewhere() {
        let _stack = Stack::new(64 * 1024).unwrap();
        // SAFETY: none; this deliberately writes to an address that is not
        // mapped, to check the fault is not mistaken for an overflow.
        unsafe { std::ptr::write_volatile(black_box(16usize) as *mut u8, 1) };
    }

    fn guard_touched_directly() {
        let stack = Stack::new(64 * 1024).unwrap();
        announce(&stack);
        // SAFETY: none; this deliberately writes into the guard page.
        unsafe { std::ptr::write_volatile(stack.bottom().sub(8), 1) };
    }

    fn deep_recursion_with(stack: Stack) {
        announce(&stack);
        eprintln!("guard kind {:?}", stack.guard_kind());
        let mut co =
            Coroutine::<(), (), u64>::with_stack(stack, |_y: &Yielder<(), ()>, ()| recurse(0));
        let _ = co.resume(());
    }

    fn deep_recursion_mprotect_guard() {
        deep_recursion_with(Stack::new_with(64 * 1024, GuardKind::Mprotect).unwrap());
    }

    fn guard_touched_directly_mprotect() {
        let stack = Stack::new_with(64 * 1024, GuardKind::Mprotect).unwrap();
        announce(&stack);
        // SAFETY: none; this deliberately writes into the guard page.
        unsafe { std::ptr::write_volatile(stack.bottom().sub(8), 1) };
    }

    /// Where the kernel (or emulator) cannot install guards in place, says so
    /// and exits 0; the check accepts that.
    fn deep_recursion_madvise_guard() {
        match Stack::new_with(64 * 1024, GuardKind::Madvise) {
            Ok(stack) => deep_recursion_with(stack),
            Err(e) => println!("no in-place guard pages here: {e}"),
        }
    }

    fn guard_kind_forced_by_the_environment() {
        std::env::set_var("SWAPCTX_GUARD", "mprotect");
        let stack = Stack::new(64 * 1024).unwrap();
        if stack.guard_kind() != GuardKind::Mprotect {
            println!("SWAPCTX_GUARD=mprotect ignored: {stack:?}");
            std::process::exit(3);
        }
        deep_recursion_with(stack);
    }

    /// The `VmSize` of this process, in bytes.
    fn vm_size() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
        let kib: u64 = line[7..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap();
        kib * 1024
    }

    /// True if an anonymous mapping of `len` bytes can be made (and unmaps it).
    fn plain_mmap_works(len: usize) -> bool {
        // SAFETY: a fresh anonymous mapping, unmapped at once.
        unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            if m == libc::MAP_FAILED {
                return false;
            }
            libc::munmap(m, len);
            true
        }
    }

    fn address_space_limit() {
        // Everything that needs memory first: the error path must not.
        let mut co = Coroutine::<(), (), u8>::with_stack(Stack::new(64 * 1024).unwrap(), |_, ()| 1);
        let limit = vm_size() + (64 << 20);
        // `rlim_t` is 64 bits wide on 64-bit targets, 32 on 32-bit ones.
        #[cfg(target_pointer_width = "32")]
        let limit = limit.min(u64::from(u32::MAX - 1)) as libc::rlim_t;
        let rl = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: lowers this (child) process's own limit.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
        match Stack::new(256 << 20) {
            Err(e @ Error::AddressSpaceLimit { .. }) => println!("refused: {e}"),
            // qemu-user accepts setrlimit(RLIMIT_AS) and does not apply it: if
            // a plain mmap of that size works too, there is no limit to hit.
            Ok(_) if plain_mmap_works(256 << 20) => {
                println!("skipped: RLIMIT_AS is not enforced here (an emulator?)");
                return;
            }
            other => {
                println!("expected Error::AddressSpaceLimit, got {other:?}");
                std::process::exit(3);
            }
        }
        // Nothing else is disturbed: a small stack still works, and so does
        // the coroutine made before.
        let small = Stack::new(64 * 1024).unwrap();
        drop(small);
        assert!(matches!(co.resume(()), swapctx::CoroutineResult::Return(1)));
        println!("still running");
    }

    /// True under a user-mode emulator: an aarch64, riscv64 or arm build that
    /// reads an x86 host's /proc/cpuinfo (qemu-user passes the host's
    /// through). An x86 (i686) build cannot tell qemu-i386 from an x86_64
    /// kernel, and counts as emulated either way.
    #[cfg(not(feature = "valgrind"))]
    fn emulated() -> bool {
        !cfg!(target_arch = "x86_64")
            && std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains("vendor_id"))
    }

    #[cfg(not(feature = "valgrind"))] // see the check that runs it
    fn map_count_limit() {
        let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if limit > 300_000 {
            println!("skipped: vm.max_map_count is {limit}, too many stacks to map in a test");
            return;
        }
        // Under qemu-user the limit counts qemu's own mappings too, and qemu
        // needs new ones to go on emulating: at the limit it may abort itself
        // ("GSlice: failed to allocate"), whatever the program does. The
        // native x86_64 run of this test is the one that tells.
        if emulated() {
            println!("skipped: under an emulator, which itself runs out of mappings at the limit");
            return;
        }
        println!("vm.max_map_count {limit}");
        // No allocation may need a new mapping near the limit: reserve first.
        let mut stacks = Vec::with_capacity(limit);
        // One-page guards, whatever the target's default: under ASan a larger
        // mapping makes ASan remap its shadow, a mapping of its own, and ASan
        // aborts when that fails. A pool that keeps nothing idle hands out
        // fresh stacks as `Stack::new_with` would.
        let pool = swapctx::StackPool::builder()
            .stack_size(Stack::MIN_SIZE)
            .guard(GuardKind::Mprotect)
            .guard_size(4096)
            .max_idle(0)
            .build()
            .unwrap();
        let err = loop {
            match pool.stack() {
                Ok(s) => stacks.push(s),
                Err(e) => break e,
            }
        };
        let made = stacks.len();
        match err {
            Error::MapCountLimit { limit: l } if l == limit => {}
            other => {
                println!(
                    "after {made} stacks, expected Error::MapCountLimit, got {other:?}: {other}"
                );
                std::process::exit(3);
            }
        }
        println!("made {made} stacks, then: {err}");
        // Two mappings per stack: the limit was reached at about limit / 2.
        if made < limit / 2 - 1000 || made > limit / 2 {
            println!("{made} stacks is not about half of {limit}");
            std::process::exit(3);
        }
        // Dropping some makes room again.
        stacks.truncate(made - 10);
        let mut co = Coroutine::<u8, (), u8>::with_stack(
            Stack::new_with(Stack::MIN_SIZE, GuardKind::Mprotect).unwrap(),
            |_, x| x + 1,
        );
        assert!(matches!(co.resume(1), swapctx::CoroutineResult::Return(2)));
        println!("room again after dropping 10");
    }

    static mut SLOT: Context = Context::empty();

    /// An entry function must never return; this one does (it gets the entry
    /// type through a transmute) to check that the trampoline catches it.
    extern "C" fn returning_entry(_value: usize, _data: *mut c_void) -> usize {
        7
    }

    fn raw_entry_returns() {
        let stack = Stack::new(64 * 1024).unwrap();
        // SAFETY: the transmute makes an entry that returns, which is exactly
        // the contract violation under test; the trampoline must abort.
        unsafe {
            let entry: raw::EntryFn = std::mem::transmute::<
                extern "C" fn(usize, *mut c_void) -> usize,
                raw::EntryFn,
            >(returning_entry);
            let ctx = Context::new(stack.top(), entry, std::ptr::null_mut());
            raw::switch(&mut *std::ptr::addr_of_mut!(SLOT), ctx, 0);
        }
    }

    /// `Ok` if the child was killed by `sig`, else the error the checks report.
    fn died_by(o: &Outcome, sig: i32, name: &str) -> Result<(), String> {
        if o.signal == Some(sig) {
            Ok(())
        } else {
            Err(format!("expected {name}"))
        }
    }

    /// The `start..end` bounds the child announced.
    fn announced(output: &str) -> (String, String) {
        let line = output
            .lines()
            .find_map(|l| l.strip_prefix("bounds "))
            .unwrap_or_else(|| panic!("no bounds line in {output:?}"));
        let (a, b) = line.split_once("..").unwrap();
        (a.to_string(), b.to_string())
    }

    /// The verdict on a child that ran into a kernel limit: it exited normally,
    /// and either printed why the check does not apply here ("skipped: ...",
    /// passed on), or printed the error on a line starting with `prefix`, naming
    /// each of `names` (the limit and what to do), and then `went_on`.
    fn limit_reported(
        o: &Outcome,
        prefix: &str,
        names: &[&str],
        went_on: &str,
    ) -> Result<(), String> {
        if o.exit != Some(0) {
            return Err("expected a normal exit".into());
        }
        if let Some(why) = o.output.lines().find(|l| l.starts_with("skipped: ")) {
            println!("  ({why})");
            return Ok(());
        }
        let line = o
            .output
            .lines()
            .find(|l| l.starts_with(prefix))
            .ok_or("no error")?;
        if let Some(missing) = names.iter().find(|n| !line.contains(*n)) {
            return Err(format!("the error does not name {missing}"));
        }
        if !o.output.contains(went_on) {
            return Err(format!("the process did not go on (no {went_on:?})"));
        }
        Ok(())
    }

    /// Checks that cannot run in this build, counted apart.
    static IGNORED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// Reports a check that cannot run in this build, and why.
    #[allow(dead_code)]
    fn ignored(name: &str, why: &str) -> bool {
        println!("test {name} ... ignored: {why}");
        IGNORED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        true
    }

    fn check(name: &str, body: fn(), verify: fn(&Outcome) -> Result<(), String>) -> bool {
        let outcome = in_child(body);
        match verify(&outcome) {
            Ok(()) => {
                println!("test {name} ... ok");
                true
            }
            Err(why) => {
                println!(
                    "test {name} ... FAILED: {why}\n  signal {:?}, exit {:?}, output:\n{}",
                    outcome.signal, outcome.exit, outcome.output
                );
                false
            }
        }
    }

    fn overflow_reported(o: &Outcome) -> Result<(), String> {
        died_by(o, libc::SIGABRT, "SIGABRT")?;
        let (bottom, top) = announced(&o.output);
        let line = o
            .output
            .lines()
            .find(|l| l.starts_with("swapctx: a coroutine has overflowed its stack"))
            .ok_or("no overflow message")?;
        let bounds = format!("below the stack {bottom}..{top}");
        if !line.contains(&bounds) {
            return Err(format!("message does not name the bounds {bounds}"));
        }
        if !line.contains("guard page") {
            return Err("message does not mention the guard page".into());
        }
        Ok(())
    }

    /// The overflow message (bounds not announced) and an abort.
    fn message_and_abort(o: &Outcome) -> Result<(), String> {
        died_by(o, libc::SIGABRT, "SIGABRT")?;
        if !o
            .output
            .lines()
            .any(|l| l.starts_with("swapctx: a coroutine has overflowed its stack"))
        {
            return Err("no overflow message".into());
        }
        Ok(())
    }

    pub fn main() {
        let results = [
            check(
                "deep_recursion_in_a_coroutine_is_reported",
                deep_recursion,
                overflow_reported,
            ),
            // With stack probes (x86_64, aarch64) the frame's first probe hits
            // the guard page; without (riscv64), the default guard region is
            // larger than each of these frames: on every target, each ends in
            // the message.
            check(
                "a_single_large_frame_is_reported",
                large_frame,
                overflow_reported,
            ),
            check(
                "a_64k_frame_on_a_16k_stack_is_reported",
                frame_64k_on_a_16k_stack,
                overflow_reported,
            ),
            check(
                "a_1m_frame_on_a_64k_stack_is_reported",
                frame_1m_on_a_64k_stack,
                overflow_reported,
            ),
            check(
                "a_4m_frame_on_a_256k_stack_is_reported",
                frame_4m_on_a_256k_stack,
                overflow_reported,
            ),
            #[cfg(feature = "valgrind")]
            ignored(
                "a_large_frame_never_changes_a_neighbouring_stack",
                "Valgrind cannot deliver the check's SIGABRT while on the alternate stack",
            ),
            #[cfg(feature = "asan")]
            ignored(
                "a_large_frame_never_changes_a_neighbouring_stack",
                "ASan reports the checksum's reads of the neighbour's poisoned redzones",
            ),
            #[cfg(not(any(feature = "valgrind", feature = "asan")))]
            check(
                "a_large_frame_never_changes_a_neighbouring_stack",
                neighbour_survives_a_large_frame,
                |o| {
                    if let Some(why) = o.output.lines().find(|l| l.starts_with("skipped: ")) {
                        println!("  ({why})");
                        return if o.exit == Some(0) {
                            Ok(())
                        } else {
                            Err("skipped, then failed".into())
                        };
                    }
                    if !o.output.contains("neighbour unchanged") {
                        return Err("the neighbour's memory changed, or was not checked".into());
                    }
                    if !o
                        .output
                        .contains("swapctx: a coroutine has overflowed its stack")
                    {
                        return Err("no overflow message".into());
                    }
                    Ok(())
                },
            ),
            // Valgrind builds signal frames itself, and ends the process when
            // one does not fit, before any handler runs.
            #[cfg(feature = "valgrind")]
            ignored(
                "a_signal_without_room_on_a_coroutine_stack_is_reported",
                "Valgrind ends the process itself when a signal frame does not fit",
            ),
            // ASan's instrumented frames are too large to stop a few hundred
            // bytes above the guard.
            #[cfg(feature = "asan")]
            ignored(
                "a_signal_without_room_on_a_coroutine_stack_is_reported",
                "ASan's frames are too large to stop a few hundred bytes above the guard",
            ),
            #[cfg(feature = "asan")]
            ignored(
                "a_signal_without_room_elsewhere_ends_the_process",
                "ASan's frames are too large to stop a few hundred bytes above the guard",
            ),
            #[cfg(not(any(feature = "valgrind", feature = "asan")))]
            check(
                "a_signal_without_room_on_a_coroutine_stack_is_reported",
                signal_without_room_on_a_coroutine_stack,
                |o| {
                    died_by(o, libc::SIGABRT, "SIGABRT")?;
                    let (bottom, top) = announced(&o.output);
                    let line = o
                        .output
                        .lines()
                        .find(|l| l.starts_with("swapctx: a coroutine has overflowed its stack"))
                        .ok_or("no overflow message")?;
                    if !line.contains("no room for a signal frame")
                        || !line.contains(&format!("below the stack {bottom}..{top}"))
                    {
                        return Err(
                            "the message does not name the signal frame and the stack".into()
                        );
                    }
                    Ok(())
                },
            ),
            #[cfg(not(feature = "asan"))]
            check(
                "a_signal_without_room_elsewhere_ends_the_process",
                signal_without_room_elsewhere,
                |o| {
                    died_by(o, libc::SIGSEGV, "SIGSEGV")?;
                    if o.output.contains("swapctx:") {
                        return Err("swapctx claimed a stack it does not know".into());
                    }
                    Ok(())
                },
            ),
            check(
                "a_sigsegv_sent_with_kill_ends_the_process",
                sigsegv_sent_with_kill,
                |o| {
                    died_by(o, libc::SIGSEGV, "SIGSEGV")?;
                    if o.output.contains("swapctx:") {
                        return Err("swapctx claimed a signal that is not an overflow".into());
                    }
                    Ok(())
                },
            ),
            #[cfg(feature = "valgrind")]
            ignored(
                "faults_during_the_handler_install_reach_the_programs_handler",
                "memcheck reports each deliberate fault as an invalid write, and runs one \
             thread at a time",
            ),
            #[cfg(not(feature = "valgrind"))]
            check(
                "faults_during_the_handler_install_reach_the_programs_handler",
                install_races_with_faults_on_another_thread,
                |o| {
                    if o.exit != Some(0)
                        || !o
                            .output
                            .contains("every fault reached the program's handler")
                    {
                        return Err("a fault missed the program's handler".into());
                    }
                    Ok(())
                },
            ),
            check(
                "an_overflow_in_a_thread_local_destructor_is_reported",
                overflow_in_a_thread_local_destructor_after_a_coroutine,
                message_and_abort,
            ),
            check(
                "an_overflow_in_a_thread_local_destructor_of_a_fresh_thread_is_reported",
                overflow_in_a_thread_local_destructor_of_a_fresh_thread,
                message_and_abort,
            ),
            check(
                "a_c_api_context_on_a_pthread_reports_its_overflow",
                c_api_context_overflows_on_a_pthread,
                message_and_abort,
            ),
            check(
                "a_touch_of_the_guard_page_is_reported",
                guard_touched_directly,
                overflow_reported,
            ),
            check(
                "a_thread_overflow_still_gets_rusts_report",
                thread_overflow_after_swapctx,
                |o| {
                    died_by(o, libc::SIGABRT, "SIGABRT")?;
                    let report = o
                        .output
                        .lines()
                        .find(|l| l.contains("has overflowed its stack"));
                    if !report.is_some_and(|l| l.starts_with("thread 'deep'")) {
                        return Err("Rust's report is missing".into());
                    }
                    if o.output.contains("swapctx:") {
                        return Err("swapctx claimed a thread's overflow".into());
                    }
                    Ok(())
                },
            ),
            check(
                "a_fault_elsewhere_is_left_to_the_default_action",
                fault_elsewhere,
                |o| {
                    died_by(o, libc::SIGSEGV, "SIGSEGV")?;
                    if o.output.contains("swapctx:") {
                        return Err("swapctx claimed a fault that is not an overflow".into());
                    }
                    Ok(())
                },
            ),
            check(
                "a_raw_entry_that_returns_aborts_with_a_message",
                raw_entry_returns,
                |o| {
                    died_by(o, libc::SIGABRT, "SIGABRT")?;
                    if !o.output.contains("swapctx: the entry function at 0x")
                        || !o.output.contains("returned")
                    {
                        return Err("no message about the returning entry".into());
                    }
                    Ok(())
                },
            ),
            check(
                "an_overflow_into_an_mprotect_guard_is_reported",
                deep_recursion_mprotect_guard,
                |o| {
                    overflow_reported(o)?;
                    if !o.output.contains("guard kind Mprotect") {
                        return Err("the stack's guard was not made with mprotect".into());
                    }
                    Ok(())
                },
            ),
            check(
                "a_touch_of_an_mprotect_guard_page_is_reported",
                guard_touched_directly_mprotect,
                overflow_reported,
            ),
            check(
                "an_overflow_into_an_in_place_guard_is_reported",
                deep_recursion_madvise_guard,
                |o| {
                    if o.exit == Some(0) && o.output.contains("no in-place guard pages here") {
                        // Older kernels, and qemu-user, which accepts
                        // MADV_GUARD_INSTALL and ignores it: the error says so.
                        if !o.output.contains("MADV_GUARD_INSTALL") {
                            return Err("the error does not name MADV_GUARD_INSTALL".into());
                        }
                        println!("  (no in-place guard pages on this system)");
                        return Ok(());
                    }
                    overflow_reported(o)?;
                    if !o.output.contains("guard kind Madvise") {
                        return Err("the stack's guard was not made in place".into());
                    }
                    Ok(())
                },
            ),
            check(
                "swapctx_guard_mprotect_forces_the_fallback",
                guard_kind_forced_by_the_environment,
                |o| {
                    overflow_reported(o)?;
                    if !o.output.contains("guard kind Mprotect") {
                        return Err("the stack's guard was not made with mprotect".into());
                    }
                    Ok(())
                },
            ),
            check(
                "rlimit_as_gives_an_error_that_names_it",
                address_space_limit,
                |o| {
                    limit_reported(
                        o,
                        "refused: ",
                        &["RLIMIT_AS", "smaller stacks"],
                        "still running",
                    )
                },
            ),
            // Not under Valgrind: 32,000 mappings overflow its own segment
            // table ("VG_N_SEGMENTS is too low") before the kernel's limit.
            #[cfg(not(feature = "valgrind"))]
            check(
                "vm_max_map_count_gives_an_error_that_names_it",
                map_count_limit,
                |o| limit_reported(o, "made ", &["vm.max_map_count", "StackPool"], "room again"),
            ),
        ];
        let ignored = IGNORED.load(std::sync::atomic::Ordering::Relaxed);
        let passed = results.iter().filter(|r| **r).count() - ignored;
        let failed = results.len() - passed - ignored;
        println!("\n{passed} passed, {failed} failed, {ignored} ignored");
        if failed > 0 {
            std::process::exit(1);
        }
    }
}

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
#[path = "common/harness.rs"]
mod harness;

#[cfg(not(unix))]
fn main() {
    harness::run(vec![harness::cannot_run(
        "crashes",
        "forks, and overflows stacks into the signal handler (tests/crashes_windows.rs is the Windows counterpart): Unix only",
    )]);
}
