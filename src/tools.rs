//! Telling debugging tools about stacks and switches.
//!
//! Valgrind (feature `valgrind`) and AddressSanitizer (feature `asan`) lose
//! track of the program when the stack pointer jumps between stacks unless
//! they are told. The stack module calls [`stack_mapped`] and
//! [`stack_unmapped`]; the coroutine layer calls the switch hooks. Without
//! the features, every hook is an empty inline function.

/// What a tool handed back for a registered stack.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StackId(#[allow(dead_code)] pub(crate) usize);

/// A stack's usable range `[lo, hi)` now exists.
#[inline(always)]
pub(crate) fn stack_mapped(_lo: usize, _hi: usize) -> StackId {
    StackId(0)
}

/// The stack registered as `id` is about to be unmapped (or reused).
#[inline(always)]
pub(crate) fn stack_unmapped(_id: StackId) {}
