//! Stack memory: what a coroutine can run on. [`StackMemory`] is the
//! contract; [`Stack`](crate::Stack) (mapped, with a guard page, also when
//! it comes from a [`StackPool`](crate::StackPool)) and [`StackBuf`] (the
//! embedder's own memory: a `static` buffer, a `Box<[u8]>`, a region from
//! any allocator) implement it. Builds without `std`.
//!
//! # Sizes and alignment
//!
//! Memory handed to [`StackBuf`] must start at a multiple of
//! [`StackBuf::ALIGN`] (16 bytes, the strictest stack alignment of every
//! supported ABI) and be a multiple of it long, so that its top is
//! aligned too; and it must be at least [`StackBuf::MIN_SIZE`] bytes. Each
//! rule has its own [`Error`]: [`Error::StackMisaligned`] and
//! [`Error::StackTooSmall`]. [`StackArea`] is a buffer that keeps both
//! rules by its type, for `static`s.
//!
//! # Overflow without a guard page
//!
//! ```text
//!   top()    ─►  +---------------------------+  high addresses
//!                |  the coroutine's slots,   |
//!                |  closure and frames,      |
//!                |  growing down             |
//!                +---------------------------+  bottom() + CANARY_SIZE
//!                |  canary: CANARY_SIZE bytes|  a known pattern, written
//!   bottom() ─►  +---------------------------+  when the coroutine is made
//! ```
//!
//! A [`Stack`](crate::Stack) has a guard page: the first touch below it
//! faults, and the overflow handler prints which stack overflowed. Memory
//! from the embedder has none, so a coroutine on memory that is not
//! [guarded](StackMemory::is_guarded) gets a *canary*: the lowest
//! [`CANARY_SIZE`] bytes are filled with a known pattern when the
//! coroutine is made, and every switch back to the resumer (each `suspend`
//! and the coroutine's end) checks that the pattern is intact and that the
//! coroutine's saved stack pointer is above it. An overflow that ran into
//! the canary ends the program with a message naming the stack (on `std`:
//! printed, then `abort`; without `std`: through the embedder's
//! `#[panic_handler]`).
//!
//! A canary is a check *after the fact*: whatever lay below the buffer was
//! written before the switch noticed, and a frame larger than the canary
//! can jump over it without touching it. That is why making a [`StackBuf`]
//! is `unsafe`: the embedder promises that the code run on it fits, and the
//! canary turns most broken promises into a clear stop instead of silent
//! corruption. Where the hardware can guard memory (an MMU, an MPU), a
//! guarded region below the buffer makes it [guarded](StackMemory::is_guarded)
//! for real.

use crate::error::{Error, Result};

/// Bytes at the bottom of an unguarded stack that hold the canary.
pub const CANARY_SIZE: usize = 32;

/// The canary's words, written from the bottom up: an ASCII tag
/// ("swapctx!") mixed with the word's index, so that a run of zeroes or a
/// copy of one word does not look intact.
const CANARY: u64 = 0x2178_7463_7061_7773;

/// Memory a coroutine can run on: `[bottom(), top())`, growing down from
/// `top()`.
///
/// # Safety
/// An implementation promises, for every value:
/// - `[bottom(), top())` is readable and writable memory that this value
///   owns exclusively for as long as it lives; `top()` and `bottom()`
///   return the same addresses every time, also after the value has moved
///   (the memory does not move with it);
/// - `top()` is a multiple of [`StackBuf::ALIGN`], and the size is at least
///   [`MIN_SIZE`](StackMemory::MIN_SIZE);
/// - if the value is forgotten (`mem::forget`: what swapctx does with the
///   stack of a suspended coroutine it cannot unwind), the memory is never
///   used for anything else again (it is leaked), because values on it were
///   never dropped;
/// - if [`is_guarded`](StackMemory::is_guarded) returns true, a guard below
///   `bottom()` stops any access below it before it happens.
pub unsafe trait StackMemory {
    /// A size every value of this type has at least: lets the coroutine's
    /// size check be decided at compile time for small closures.
    const MIN_SIZE: usize = 0;

    /// One past the highest usable byte, 16-byte aligned.
    fn top(&self) -> *mut u8;

    /// The lowest usable byte.
    fn bottom(&self) -> *mut u8;

    /// Usable bytes, `top() - bottom()`.
    #[inline]
    fn size(&self) -> usize {
        self.top() as usize - self.bottom() as usize
    }

    /// True if an overflow below `bottom()` is caught by a guard (a guard
    /// page). False gives the stack a canary, checked at every switch (see
    /// the [module docs](self)).
    fn is_guarded(&self) -> bool;

    /// The guard region below `bottom()`, as its lowest address and its
    /// size, when the stack has one that swapctx knows of. On Windows a
    /// coroutine runs with it in its thread block (the deallocation stack
    /// and the bytes guaranteed to the overflow handler). The default is
    /// `None`: no region below the stack belongs to it.
    #[inline]
    fn guard_region(&self) -> Option<(*const u8, usize)> {
        None
    }
}

/// A stack on memory the embedder owns: a `static` buffer, a `Box<[u8]>`
/// (with the `alloc` feature), or any region from its own allocator.
///
/// It has no guard page: coroutines on it get a canary (see [Overflow
/// without a guard page](self#overflow-without-a-guard-page)), and making
/// one is `unsafe`.
///
/// # Examples
/// ```
/// use swapctx::{StackArea, StackBuf, StackMemory};
///
/// static mut AREA: StackArea<8192> = StackArea::new();
/// // SAFETY: AREA is used here only, once; what runs on it fits 8 KiB.
/// let stack = unsafe { StackBuf::from_static(&mut (*core::ptr::addr_of_mut!(AREA)).0) }?;
/// assert_eq!(stack.size(), 8192);
/// assert!(!stack.is_guarded());
/// # Ok::<(), swapctx::Error>(())
/// ```
pub struct StackBuf {
    bottom: *mut u8,
    top: *mut u8,
    /// With `alloc`: the `Box<[u8]>` to free (start, length), or a null
    /// start for memory that is not ours to free.
    #[cfg(feature = "alloc")]
    boxed: (*mut u8, usize),
    /// What Valgrind was told about this stack (nothing, and no bytes,
    /// without the `valgrind` feature).
    tools: crate::tools::StackId,
}

// SAFETY: a StackBuf owns its memory exclusively (its constructors' rule);
// nothing in it is tied to a thread.
unsafe impl Send for StackBuf {}
// SAFETY: `&StackBuf` only reads the bounds.
unsafe impl Sync for StackBuf {}

impl core::fmt::Debug for StackBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StackBuf")
            .field("bottom", &self.bottom)
            .field("top", &self.top)
            .field("size", &self.size())
            .finish()
    }
}

impl StackBuf {
    /// The alignment of the memory's start and of its size: 16 bytes.
    pub const ALIGN: usize = 16;

    /// The smallest memory a `StackBuf` accepts: 8 KiB. Enough for a
    /// coroutine that does little, in every profile (the canary, the
    /// coroutine's slots, its entry's frames, which in an unoptimised
    /// `std` build include `catch_unwind`'s, and a small closure:
    /// `tests/embedder_stacks.rs` runs one on exactly this much). What the
    /// code run on it needs beyond that is the embedder's to size.
    pub const MIN_SIZE: usize = 8192;

    /// Checks the rules (see [Sizes and alignment](self#sizes-and-alignment)).
    fn check(bottom: *mut u8, size: usize) -> Result<()> {
        if bottom as usize % Self::ALIGN != 0 || size % Self::ALIGN != 0 {
            return Err(Error::StackMisaligned {
                address: bottom as usize,
                size,
            });
        }
        if size < Self::MIN_SIZE {
            return Err(Error::StackTooSmall {
                size,
                min: Self::MIN_SIZE,
            });
        }
        Ok(())
    }

    /// A stack on `len` bytes at `bottom`, which stay the caller's.
    ///
    /// # Errors
    /// [`Error::StackMisaligned`] if `bottom` or `len` is not a multiple of
    /// [`StackBuf::ALIGN`] (the one a null `bottom` gets too);
    /// [`Error::StackTooSmall`] if `len` is below [`StackBuf::MIN_SIZE`].
    ///
    /// # Safety
    /// - `[bottom, bottom + len)` is writable memory that nothing else uses
    ///   while the `StackBuf` lives; if the `StackBuf` is leaked (swapctx
    ///   leaks the stack of a suspended coroutine it cannot unwind), it is
    ///   never used for anything else again;
    /// - the code run on it fits in `len` bytes (the canary catches most
    ///   overflows, after the fact: see the [module docs](self)).
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Error, StackBuf};
    ///
    /// #[repr(C, align(16))]
    /// struct Aligned([u8; 128]);
    /// let mut bytes = Aligned([0; 128]);
    /// // SAFETY: refused before anything is written.
    /// let err = unsafe { StackBuf::from_raw_parts(bytes.0.as_mut_ptr(), 128) }.unwrap_err();
    /// assert_eq!(err, Error::StackTooSmall { size: 128, min: StackBuf::MIN_SIZE });
    /// ```
    pub unsafe fn from_raw_parts(bottom: *mut u8, len: usize) -> Result<StackBuf> {
        Self::check(bottom, len)?;
        Ok(StackBuf {
            bottom,
            top: bottom.wrapping_add(len),
            tools: crate::tools::stack_mapped(bottom as usize, bottom as usize + len),
            #[cfg(feature = "alloc")]
            boxed: (core::ptr::null_mut(), 0),
        })
    }

    /// A stack on a `'static` buffer, which it keeps for good.
    ///
    /// # Errors
    /// As [`from_raw_parts`](StackBuf::from_raw_parts).
    ///
    /// # Safety
    /// The code run on it fits in the buffer (the canary catches most
    /// overflows, after the fact: see the [module docs](self)).
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Error, StackArea, StackBuf};
    ///
    /// static mut AREA: StackArea<4096> = StackArea::new();
    /// // SAFETY: AREA is used here only; `&mut bytes[1..]` is refused.
    /// let bytes = unsafe { &mut (*core::ptr::addr_of_mut!(AREA)).0 };
    /// let err = unsafe { StackBuf::from_static(&mut bytes[1..]) }.unwrap_err();
    /// assert!(matches!(err, Error::StackMisaligned { size: 4095, .. }));
    /// ```
    pub unsafe fn from_static(buf: &'static mut [u8]) -> Result<StackBuf> {
        // SAFETY: a `'static` exclusive borrow: nothing else can use the
        // memory ever again; the fit is the caller's promise.
        unsafe { Self::from_raw_parts(buf.as_mut_ptr(), buf.len()) }
    }

    /// A stack on a boxed buffer, freed when the `StackBuf` is dropped.
    ///
    /// A `Box<[u8]>` has no alignment to speak of, so the stack is the
    /// largest part of it that keeps the rules: its start rounded up and
    /// its end rounded down to [`StackBuf::ALIGN`] (at most 15 bytes lost
    /// at each end).
    ///
    /// # Errors
    /// [`Error::StackTooSmall`] if what is left is below
    /// [`StackBuf::MIN_SIZE`] (the box is freed).
    ///
    /// # Safety
    /// The code run on it fits in the buffer (the canary catches most
    /// overflows, after the fact: see the [module docs](self)).
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult, StackBuf};
    ///
    /// // SAFETY: the closure needs far less than 64 KiB.
    /// let stack = unsafe { StackBuf::from_box(vec![0u8; 64 * 1024].into_boxed_slice()) }?;
    /// let mut co = Coroutine::<(), (), u32, StackBuf>::with_stack(stack, |_, ()| 42);
    /// assert_eq!(co.resume(()), CoroutineResult::Return(42));
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub unsafe fn from_box(buf: alloc::boxed::Box<[u8]>) -> Result<StackBuf> {
        let len = buf.len();
        let start = alloc::boxed::Box::into_raw(buf).cast::<u8>();
        let end = start as usize + len;
        let bottom = (start as usize).next_multiple_of(Self::ALIGN).min(end);
        let top = end & !(Self::ALIGN - 1);
        let size = top.saturating_sub(bottom);
        // SAFETY: the box is ours now, until Drop frees it; the range is
        // inside it and aligned.
        match unsafe { Self::from_raw_parts(start.wrapping_add(bottom - start as usize), size) } {
            Ok(mut stack) => {
                stack.boxed = (start, len);
                Ok(stack)
            }
            Err(e) => {
                // SAFETY: the pointer came from Box::into_raw just above.
                drop(unsafe {
                    alloc::boxed::Box::from_raw(core::ptr::slice_from_raw_parts_mut(start, len))
                });
                Err(e)
            }
        }
    }
}

// SAFETY: the constructors check the alignment and the minimum size; the
// memory is owned as their contracts say, and a leaked StackBuf leaks it
// (`from_static`: it was 'static anyway; `from_box`: the box is never
// freed; `from_raw_parts`: the caller's promise). There is no guard.
unsafe impl StackMemory for StackBuf {
    const MIN_SIZE: usize = StackBuf::MIN_SIZE;

    #[inline]
    fn top(&self) -> *mut u8 {
        self.top
    }

    #[inline]
    fn bottom(&self) -> *mut u8 {
        self.bottom
    }

    #[inline]
    fn is_guarded(&self) -> bool {
        false
    }
}

// SAFETY: a Stack's usable range is its own mapping (or its pool's stack,
// handed out to one owner at a time), 16-byte aligned at the top and at
// least Stack::MIN_SIZE bytes; a leaked Stack stays mapped and is never
// handed out again (its Drop, the only way back to a pool, does not run);
// the guard region below it faults on any access.
#[cfg(feature = "std")]
unsafe impl StackMemory for crate::Stack {
    const MIN_SIZE: usize = crate::Stack::MIN_SIZE;

    #[inline]
    fn top(&self) -> *mut u8 {
        crate::Stack::top(self)
    }

    #[inline]
    fn bottom(&self) -> *mut u8 {
        crate::Stack::bottom(self)
    }

    #[inline]
    fn size(&self) -> usize {
        crate::Stack::size(self)
    }

    #[inline]
    fn is_guarded(&self) -> bool {
        true
    }

    #[inline]
    fn guard_region(&self) -> Option<(*const u8, usize)> {
        Some(crate::Stack::guard(self))
    }
}

impl Drop for StackBuf {
    fn drop(&mut self) {
        crate::tools::stack_unmapped(self.tools);
        #[cfg(feature = "alloc")]
        if !self.boxed.0.is_null() {
            // SAFETY: `from_box` got this box from Box::into_raw; it is
            // freed once, here.
            drop(unsafe {
                alloc::boxed::Box::from_raw(core::ptr::slice_from_raw_parts_mut(
                    self.boxed.0,
                    self.boxed.1,
                ))
            });
        }
    }
}

/// A buffer for [`StackBuf::from_static`] that keeps the alignment rule by
/// its type: `N` bytes, 16-byte aligned (`N` must be a multiple of 16,
/// checked when the buffer is made).
///
/// # Examples
/// ```
/// use swapctx::StackArea;
///
/// static mut AREA: StackArea<16384> = StackArea::new();
/// assert_eq!(core::mem::align_of::<StackArea<16>>(), 16);
/// ```
#[repr(C, align(16))]
pub struct StackArea<const N: usize>(pub [u8; N]);

impl<const N: usize> StackArea<N> {
    /// A zeroed area.
    ///
    /// # Panics
    /// At compile time (in a `static`) or at run time, if `N` is not a
    /// multiple of 16.
    pub const fn new() -> Self {
        assert!(
            N % 16 == 0,
            "a StackArea's size must be a multiple of 16 bytes"
        );
        StackArea([0; N])
    }
}

impl<const N: usize> Default for StackArea<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Fills the canary at `bottom` (an unguarded stack's lowest bytes).
///
/// # Safety
/// `[bottom, bottom + CANARY_SIZE)` is writable and 8-byte aligned.
#[inline]
pub(crate) unsafe fn write_canary(bottom: *mut u8) {
    for i in 0..CANARY_SIZE / 8 {
        // SAFETY: per the contract.
        unsafe {
            bottom
                .cast::<u64>()
                .add(i)
                .write_volatile(CANARY ^ i as u64)
        };
    }
}

/// True while the canary at `bottom` is intact.
///
/// # Safety
/// As [`write_canary`], readable.
#[inline]
pub(crate) unsafe fn canary_intact(bottom: *const u8) -> bool {
    (0..CANARY_SIZE / 8).all(|i| {
        // SAFETY: per the contract.
        unsafe { bottom.cast::<u64>().add(i).read_volatile() == CANARY ^ i as u64 }
    })
}

/// Ends the program: the stack `[bottom, top)` overflowed into its canary.
#[cold]
#[inline(never)]
pub(crate) fn canary_overwritten(bottom: *const u8, top: *const u8) -> ! {
    crate::fatal(format_args!(
        "swapctx: a coroutine has overflowed its stack: the canary at the bottom of the \
         stack {bottom:p}..{top:p} ({} bytes, no guard page) was overwritten, and memory \
         below the stack may be corrupted; make the stack bigger (Stack::new, \
         Coroutine::with_stack)",
        top as usize - bottom as usize
    ))
}

const _: () = assert!(CANARY_SIZE % 16 == 0 && StackBuf::MIN_SIZE % StackBuf::ALIGN == 0);

/// The message swapctx prints when a coroutine runs into the guard below
/// its stack, for an embedder's own fault handler: memory that is guarded
/// by other means than swapctx's (an MPU region on a microcontroller, a
/// page the embedder protected) gets the same words as a [`Stack`](crate::Stack)'s
/// guard page. `[guard.start, guard.end)` is the guard region, the stack is
/// `[guard.end, stack_top)`; `fault` is the faulting address if the
/// hardware gave one, `sp` the stack pointer of the code that faulted.
/// Without allocation: for a handler that runs after an overflow.
///
/// # Examples
/// ```
/// let m = swapctx::memory::overflow_message(Some(0x2000_01f8), 0x2000_0000, 0x2000_0100..0x2000_0200, 0x2000_2000);
/// assert_eq!(
///     m.as_str(),
///     "swapctx: a coroutine has overflowed its stack: fault at 0x200001f8 with the stack \
///      pointer at 0x20000000 below the guard page 0x20000100..0x20000200 below the stack \
///      0x20000200..0x20002000 (7680 bytes); make the stack bigger (Stack::new, \
///      Coroutine::with_stack)\n"
/// );
/// let m = swapctx::memory::overflow_message(Some(0x2000_01f8), 0x2000_0204, 0x2000_0100..0x2000_0200, 0x2000_2000);
/// assert!(m.as_str().contains("fault at 0x200001f8 in the guard page"));
/// ```
pub fn overflow_message(
    fault: Option<usize>,
    sp: usize,
    guard: core::ops::Range<usize>,
    stack_top: usize,
) -> OverflowMessage {
    use crate::overflow_message::{write_message, Overflow};
    let in_guard = |a: usize| guard.contains(&a);
    let what = match fault {
        Some(addr) if in_guard(addr) && sp >= guard.start => Overflow::Fault { addr },
        addr => Overflow::StackPointer { addr, sp },
    };
    let mut buf = crate::overflow_message::MessageBuf::new();
    let len = guard.end - guard.start;
    write_message(&mut buf, what, guard.start, guard.end, stack_top, len);
    OverflowMessage(buf)
}

/// The text [`overflow_message`] wrote, in a fixed buffer.
pub struct OverflowMessage(crate::overflow_message::MessageBuf);

impl OverflowMessage {
    /// The message, one line ending in `\n`.
    pub fn as_str(&self) -> &str {
        // The message is ASCII: fixed words, hexadecimal and decimal digits.
        core::str::from_utf8(self.0.as_bytes())
            .unwrap_or("swapctx: a coroutine has overflowed its stack\n")
    }
}

impl core::fmt::Display for OverflowMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Debug for OverflowMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("OverflowMessage")
            .field(&self.as_str())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canary_notices_one_changed_byte() {
        let mut words = [0u64; CANARY_SIZE / 8];
        let bottom = words.as_mut_ptr().cast::<u8>();
        // SAFETY: `words` is CANARY_SIZE bytes, 8-byte aligned.
        unsafe {
            write_canary(bottom);
            assert!(canary_intact(bottom));
            *bottom.add(CANARY_SIZE - 1) ^= 1;
            assert!(!canary_intact(bottom));
        }
    }

    #[test]
    fn misaligned_and_small_memory_is_refused_with_its_own_error() {
        // 16-byte aligned on every target (u128 is 8-byte aligned on some).
        #[repr(C, align(16))]
        struct Aligned([u8; 8192]);
        let mut bytes = Aligned([0; 8192]);
        let p = bytes.0.as_mut_ptr();
        // SAFETY: every call is refused before the memory is used.
        unsafe {
            assert_eq!(
                StackBuf::from_raw_parts(p.add(8), 1024).unwrap_err(),
                Error::StackMisaligned {
                    address: p as usize + 8,
                    size: 1024
                }
            );
            assert_eq!(
                StackBuf::from_raw_parts(p, 1000).unwrap_err(),
                Error::StackMisaligned {
                    address: p as usize,
                    size: 1000
                }
            );
            assert_eq!(
                StackBuf::from_raw_parts(p, 512).unwrap_err(),
                Error::StackTooSmall {
                    size: 512,
                    min: StackBuf::MIN_SIZE
                }
            );
            let ok = StackBuf::from_raw_parts(p, StackBuf::MIN_SIZE).unwrap();
            assert_eq!((ok.bottom(), ok.size()), (p, StackBuf::MIN_SIZE));
        }
    }
}
