//! The peers that swapctx is measured against, each as a `RoundTrip`
//! (see roundtrip.rs): corosensei, the `context` crate (a port of
//! Boost.Context's assembly) and, when Debian's libboost-context-dev is
//! installed, Boost.Context's own `jump_fcontext`.

#![allow(dead_code)]

use super::roundtrip::RoundTrip;

/// corosensei's `resume` + `suspend`.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
pub struct Corosensei(corosensei::Coroutine<u64, u64, ()>);

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
impl Corosensei {
    pub fn new() -> Self {
        Corosensei(corosensei::Coroutine::new(
            |y: &corosensei::Yielder<u64, u64>, mut x: u64| loop {
                x = y.suspend(x.wrapping_add(1));
            },
        ))
    }
}

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
impl RoundTrip for Corosensei {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let mut x = 0;
        for _ in 0..n {
            match self.0.resume(x) {
                corosensei::CoroutineResult::Yield(v) => x = v,
                corosensei::CoroutineResult::Return(()) => unreachable!(),
            }
        }
        x
    }
}

/// The `context` crate: `Context::resume` there and back.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub struct ContextCrate {
    t: Option<context::Transfer>,
    _stack: context::stack::ProtectedFixedSizeStack,
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
extern "C" fn context_fiber(mut t: context::Transfer) -> ! {
    loop {
        // SAFETY: `t.context` is the resumer, suspended in `resume`.
        t = unsafe { t.context.resume(t.data.wrapping_add(1)) };
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
impl ContextCrate {
    pub fn new() -> Self {
        let stack = context::stack::ProtectedFixedSizeStack::new(64 * 1024).expect("stack");
        // SAFETY: the stack outlives the context (both owned by `self`).
        let ctx = unsafe { context::Context::new(&stack, context_fiber) };
        ContextCrate {
            t: Some(context::Transfer::new(ctx, 0)),
            _stack: stack,
        }
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
impl RoundTrip for ContextCrate {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let mut t = self.t.take().unwrap();
        for _ in 0..n {
            // SAFETY: the fiber is suspended in `t.context`.
            t = unsafe { t.context.resume(t.data) };
        }
        let x = t.data as u64;
        self.t = Some(t);
        x
    }
}

/// Boost.Context's `jump_fcontext`, from Debian's libboost-context-dev.
#[cfg(swapctx_boost_context)]
pub mod boost {
    use std::ffi::c_void;

    use super::super::roundtrip::RoundTrip;

    #[repr(C)]
    pub struct Transfer {
        fctx: *mut c_void,
        data: *mut c_void,
    }

    extern "C" {
        fn jump_fcontext(to: *mut c_void, vp: *mut c_void) -> Transfer;
        fn make_fcontext(sp: *mut c_void, size: usize, f: extern "C" fn(Transfer)) -> *mut c_void;
    }

    extern "C" fn fiber(mut t: Transfer) {
        loop {
            // SAFETY: `t.fctx` is the resumer, suspended in jump_fcontext.
            t = unsafe { jump_fcontext(t.fctx, (t.data as usize).wrapping_add(1) as *mut c_void) };
        }
    }

    pub struct Fcontext {
        ctx: *mut c_void,
        _stack: swapctx::Stack,
    }

    impl Fcontext {
        pub fn new() -> Self {
            let stack = swapctx::Stack::new(64 * 1024).expect("stack");
            // SAFETY: the stack outlives the context (both owned by self).
            let ctx = unsafe { make_fcontext(stack.top().cast(), stack.size(), fiber) };
            Fcontext { ctx, _stack: stack }
        }
    }

    impl RoundTrip for Fcontext {
        #[inline(never)]
        fn round_trips(&mut self, n: u64) -> u64 {
            let mut x = 0usize;
            for _ in 0..n {
                // SAFETY: the fiber is suspended in `ctx` and jumps back.
                let t = unsafe { jump_fcontext(self.ctx, x as *mut c_void) };
                self.ctx = t.fctx;
                x = t.data as usize;
            }
            x as u64
        }
    }
}

/// Create + run to completion + drop, `n` times, from a `StackPool`.
pub struct CreatePool(swapctx::StackPool);

impl CreatePool {
    pub fn new() -> Self {
        let pool = swapctx::StackPool::new(swapctx::Stack::DEFAULT_SIZE, 4).expect("pool");
        pool.prefill(1).expect("stack");
        CreatePool(pool)
    }
}

impl RoundTrip for CreatePool {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let mut sum = 0;
        for i in 0..n {
            let stack = self.0.stack().expect("stack");
            let mut co = swapctx::Coroutine::<u64, (), u64>::with_stack(stack, |_, x| x + 1);
            if let swapctx::CoroutineResult::Return(v) = co.resume(i) {
                sum += v;
            }
        }
        sum
    }
}

/// Create + run to completion + drop, `n` times, with corosensei reusing
/// one stack.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
pub struct CreateCorosensei(Option<corosensei::stack::DefaultStack>);

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
impl CreateCorosensei {
    pub fn new() -> Self {
        CreateCorosensei(Some(corosensei::stack::DefaultStack::default()))
    }
}

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
impl RoundTrip for CreateCorosensei {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let mut sum = 0;
        for i in 0..n {
            let stack = self.0.take().unwrap();
            let mut co = corosensei::Coroutine::<u64, (), u64, _>::with_stack(stack, |_, x| x + 1);
            if let corosensei::CoroutineResult::Return(v) = co.resume(i) {
                sum += v;
            }
            self.0 = Some(co.into_stack());
        }
        sum
    }
}
