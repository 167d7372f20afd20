//! Telling debugging tools about stacks and switches.
//!
//! Valgrind (feature `valgrind`) and AddressSanitizer (feature `asan`) lose
//! track of the program when the stack pointer jumps between stacks unless
//! they are told. The stack module calls [`stack_mapped`] and
//! [`stack_unmapped`]; the coroutine layer calls the fiber-switch hooks
//! around every switch. Without the features, every hook is an empty inline
//! function and costs nothing.

/// What a tool handed back for a registered stack (nothing, and no bytes,
/// without the `valgrind` feature).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StackId(#[cfg(feature = "valgrind")] pub(crate) usize);

/// A stack's usable range `[lo, hi)` now exists.
#[inline(always)]
pub(crate) fn stack_mapped(_lo: usize, _hi: usize) -> StackId {
    #[cfg(feature = "valgrind")]
    {
        StackId(valgrind::request(
            valgrind::STACK_REGISTER,
            [_lo, _hi, 0, 0, 0],
        ))
    }
    #[cfg(not(feature = "valgrind"))]
    StackId()
}

/// The stack registered as `id` is about to be unmapped.
#[inline(always)]
pub(crate) fn stack_unmapped(_id: StackId) {
    #[cfg(feature = "valgrind")]
    valgrind::request(valgrind::STACK_DEREGISTER, [_id.0, 0, 0, 0, 0]);
}

/// True when the program runs under Valgrind (and the `valgrind` feature
/// is on). Valgrind emulates only the default floating-point control modes,
/// so tests of the FP control words use the defaults there; and it cannot
/// live with in-place guard pages (`stack::guard`).
#[cfg_attr(all(windows, not(test)), allow(dead_code))]
pub(crate) fn running_on_valgrind() -> bool {
    #[cfg(feature = "valgrind")]
    {
        valgrind::request(valgrind::RUNNING_ON_VALGRIND, [0; 5]) != 0
    }
    #[cfg(not(feature = "valgrind"))]
    false
}

/// Valgrind's client requests: a magic instruction sequence that does
/// nothing on a real CPU and that Valgrind's JIT recognises (the protocol of
/// `valgrind.h`, written out here so that no C header is needed).
#[cfg(feature = "valgrind")]
mod valgrind {
    /// `VG_USERREQ__RUNNING_ON_VALGRIND` (valgrind.h).
    pub(super) const RUNNING_ON_VALGRIND: usize = 0x1001;
    /// `VG_USERREQ__STACK_REGISTER`.
    pub(super) const STACK_REGISTER: usize = 0x1501;
    /// `VG_USERREQ__STACK_DEREGISTER`.
    pub(super) const STACK_DEREGISTER: usize = 0x1502;

    /// Makes client request `code` with `args`; returns Valgrind's answer,
    /// or 0 when not running under Valgrind.
    #[inline(never)]
    pub(super) fn request(code: usize, args: [usize; 5]) -> usize {
        let block: [usize; 6] = [code, args[0], args[1], args[2], args[3], args[4]];
        let result: usize;
        // SAFETY: the rotations of rdi add up to 128 bits, so rdi ends as it
        // started; `xchg rbx, rbx` changes nothing. Valgrind reads the block
        // through rax and writes its answer to rdx.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                inout("rdx") 0usize => result,
                in("rax") block.as_ptr(),
                inout("rdi") 0usize => _,
                options(nostack),
            );
        }
        // SAFETY: the rotations of x12 add up to 128 bits; `orr x10, x10,
        // x10` changes nothing. Valgrind reads the block through x4 and
        // writes its answer to x3.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            core::arch::asm!(
                "ror x12, x12, #3",
                "ror x12, x12, #13",
                "ror x12, x12, #51",
                "ror x12, x12, #61",
                "orr x10, x10, x10",
                inout("x3") 0usize => result,
                in("x4") block.as_ptr(),
                inout("x12") 0usize => _,
                options(nostack),
            );
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            let _ = block;
            result = 0;
        }
        result
    }
}

// ---------------------------------------------------------------------------
// AddressSanitizer's fiber API: every switch between stacks is bracketed by
// `__sanitizer_start_switch_fiber` (on the old stack, naming the new one)
// and `__sanitizer_finish_switch_fiber` (on the new stack), so that ASan
// knows which stack is current and keeps each one's fake stack (for
// use-after-return detection) apart. A coroutine's last switch passes a
// null save slot, which frees its fake stack.

#[cfg(feature = "asan")]
extern "C" {
    fn __sanitizer_start_switch_fiber(
        fake_stack_save: *mut *mut core::ffi::c_void,
        bottom: *const core::ffi::c_void,
        size: usize,
    );
    fn __sanitizer_finish_switch_fiber(
        fake_stack_save: *mut core::ffi::c_void,
        bottom_old: *mut *const core::ffi::c_void,
        size_old: *mut usize,
    );
}

/// A stack's bounds as the fiber API wants them (empty without `asan`).
pub(crate) struct FiberStack {
    #[cfg(feature = "asan")]
    bottom: core::cell::Cell<*const core::ffi::c_void>,
    #[cfg(feature = "asan")]
    size: core::cell::Cell<usize>,
}

impl Default for FiberStack {
    #[inline(always)]
    fn default() -> Self {
        FiberStack {
            #[cfg(feature = "asan")]
            bottom: core::cell::Cell::new(core::ptr::null()),
            #[cfg(feature = "asan")]
            size: core::cell::Cell::new(0),
        }
    }
}

impl FiberStack {
    /// The bounds of a coroutine's stack.
    #[inline(always)]
    pub(crate) fn of<S: crate::memory::StackMemory>(_stack: &S) -> FiberStack {
        FiberStack {
            #[cfg(feature = "asan")]
            bottom: core::cell::Cell::new(_stack.bottom().cast()),
            #[cfg(feature = "asan")]
            size: core::cell::Cell::new(_stack.size()),
        }
    }
}

/// The fake-stack handle that `start_switch` saves for `finish_switch`.
#[derive(Clone, Copy)]
pub(crate) struct FakeStack(#[cfg(feature = "asan")] *mut core::ffi::c_void);

impl Default for FakeStack {
    #[inline(always)]
    fn default() -> Self {
        FakeStack(
            #[cfg(feature = "asan")]
            core::ptr::null_mut(),
        )
    }
}

/// Called on the current stack right before switching to `to`.
#[inline(always)]
pub(crate) fn start_switch(_to: &FiberStack) -> FakeStack {
    #[cfg(feature = "asan")]
    {
        let mut fake = core::ptr::null_mut();
        // SAFETY: ASan's documented protocol; `fake` is a live local.
        unsafe { __sanitizer_start_switch_fiber(&mut fake, _to.bottom.get(), _to.size.get()) };
        FakeStack(fake)
    }
    #[cfg(not(feature = "asan"))]
    FakeStack::default()
}

/// Called first thing after arriving on a stack; records in `from` the
/// stack we came from, if asked.
#[inline(always)]
pub(crate) fn finish_switch(_fake: FakeStack, _from: Option<&FiberStack>) {
    #[cfg(feature = "asan")]
    {
        let mut bottom = core::ptr::null();
        let mut size = 0;
        // SAFETY: ASan's documented protocol; the out-pointers are locals.
        unsafe { __sanitizer_finish_switch_fiber(_fake.0, &mut bottom, &mut size) };
        if let Some(from) = _from {
            from.bottom.set(bottom);
            from.size.set(size);
        }
    }
}

/// Called before a coroutine's last switch to `to`: its fake stack goes.
#[inline(always)]
pub(crate) fn last_switch(_to: &FiberStack) {
    #[cfg(feature = "asan")]
    // SAFETY: ASan's documented protocol: a null save slot says this
    // stack is never switched back to.
    unsafe {
        __sanitizer_start_switch_fiber(core::ptr::null_mut(), _to.bottom.get(), _to.size.get())
    };
}
