//! The raw layer as a `no_std` embedder uses it: only `swapctx::raw` and
//! `core`, on stacks the embedder brings (a static byte array and a heap
//! buffer), no `Stack`, no coroutines.
//!
//! `.ci/run` runs this with the library built without `std`:
//!
//! ```text
//! cargo test -p swapctx --no-default-features --test no_std_raw
//! ```
//!
//! (The test harness itself needs `std`; the library under test does not.
//! It also runs in the ordinary, `std` build.)
//!
//! Not with the `valgrind` feature: these stacks are plain arrays, which
//! nothing tells Valgrind about (that is what `Stack` does).
#![cfg(not(feature = "valgrind"))]

use core::ffi::c_void;
use core::ptr::addr_of_mut;

use swapctx::raw::{self, Context};

/// An embedder's stack: 64 KiB of plain memory, 16-byte aligned.
#[repr(C, align(16))]
struct StaticStack([u8; 64 * 1024]);

static mut STATIC_STACK: StaticStack = StaticStack([0; 64 * 1024]);

/// The stack's top (one past its last byte): contexts grow down from here.
fn static_top() -> *mut u8 {
    // SAFETY: only the address is taken, never a reference to the static.
    unsafe { addr_of_mut!(STATIC_STACK.0).cast::<u8>().add(64 * 1024) }
}

// ---------------------------------------------------------------------------
// Ping-pong: values both ways, many rounds.

struct PingPong {
    main: Context,
    pong: Context,
}

unsafe extern "C" fn pong(mut value: usize, data: *mut c_void) -> ! {
    let pp = data.cast::<PingPong>();
    loop {
        // SAFETY: `pp` outlives every switch; main is suspended in it.
        value = unsafe {
            let main = core::mem::take(&mut (*pp).main);
            raw::switch(&mut (*pp).pong, main, value.wrapping_mul(3) + 1)
        };
    }
}

#[test]
fn a_context_on_a_static_array_answers_every_value() {
    let mut pp = PingPong {
        main: Context::empty(),
        pong: Context::empty(),
    };
    let data: *mut PingPong = &mut pp;
    // SAFETY: the static stack is used by this one context only (this is the
    // only test that touches it); `pong` never returns; `pp` outlives it.
    unsafe {
        (*data).pong = Context::new(static_top(), pong, data.cast());
        for i in 0..10_000usize {
            let to = core::mem::take(&mut (*data).pong);
            let got = raw::switch(&mut (*data).main, to, i);
            assert_eq!(got, i.wrapping_mul(3) + 1);
            assert!(!(*data).pong.is_empty(), "pong suspended itself again");
        }
    }
}

// ---------------------------------------------------------------------------
// A symmetric hop through three contexts, one on a heap buffer, with
// floating-point work on each side (callee-saved float registers must
// survive).

struct Ring {
    main: Context,
    a: Context,
    b: Context,
    trail: [u8; 64],
    len: usize,
}

impl Ring {
    fn mark(&mut self, c: u8) {
        self.trail[self.len] = c;
        self.len += 1;
    }
}

unsafe extern "C" fn hop_a(mut value: usize, data: *mut c_void) -> ! {
    let r = data.cast::<Ring>();
    let mut x = 1.5f64;
    loop {
        x = x * 2.0 + value as f64;
        // SAFETY: `r` outlives every switch; b is suspended in it.
        value = unsafe {
            (*r).mark(b'a');
            let b = core::mem::take(&mut (*r).b);
            raw::switch(&mut (*r).a, b, x as usize)
        };
    }
}

unsafe extern "C" fn hop_b(value: usize, data: *mut c_void) -> ! {
    let r = data.cast::<Ring>();
    let y = 0.25f64;
    let mut v = value;
    loop {
        // SAFETY: `r` outlives every switch; main is suspended in it.
        v = unsafe {
            (*r).mark(b'b');
            let main = core::mem::take(&mut (*r).main);
            raw::switch(&mut (*r).b, main, v + (y * 4.0) as usize)
        };
    }
}

#[test]
fn contexts_hop_symmetrically_on_embedder_memory() {
    // A heap buffer, 16-byte aligned because its element is u128.
    let mut heap = vec![0u128; 32 * 1024 / 16].into_boxed_slice();
    let heap_top = heap.as_mut_ptr_range().end.cast::<u8>();
    // And a slice of a local array on this test's stack, for the second one.
    let mut local = [0u128; 32 * 1024 / 16];
    let local_top = local.as_mut_ptr_range().end.cast::<u8>();

    let mut ring = Ring {
        main: Context::empty(),
        a: Context::empty(),
        b: Context::empty(),
        trail: [0; 64],
        len: 0,
    };
    let r: *mut Ring = &mut ring;
    let z = core::hint::black_box(3.0f64);
    // SAFETY: each context has its own buffer, alive until the end of the
    // test; the entries never return; `ring` outlives them.
    unsafe {
        (*r).a = Context::new(heap_top, hop_a, r.cast());
        (*r).b = Context::new(local_top, hop_b, r.cast());
        // main -> a -> b -> main, three times.
        let mut v = 1;
        for _ in 0..3 {
            (*r).mark(b'm');
            let a = core::mem::take(&mut (*r).a);
            v = raw::switch(&mut (*r).main, a, v);
        }
        // a: x = 1.5*2+1 = 4 -> b: 4+1 = 5; a: x = 8+5 = 13 -> 14;
        // a: x = 26+14 = 40 -> 41.
        assert_eq!(v, 41);
    }
    assert_eq!(&ring.trail[..ring.len], b"mabmabmab");
    assert!(!ring.a.is_empty() && !ring.b.is_empty());
    assert_eq!(z * 2.0, 6.0, "main's float survived");
    // Both contexts stay suspended forever; their memory is simply freed
    // (nothing on those stacks needs dropping).
    drop(heap);
}

#[test]
fn the_initial_frame_fits_the_documented_size() {
    // An embedder sizes its stacks from this; it is small on every arch
    // (at most 256 bytes, but 320 on Windows x64, which saves xmm6-xmm15
    // and thread-block fields, and 576 on powerpc64, whose switch saves
    // twelve 16-byte vector registers and eighteen of each other kind).
    const _: () = assert!(
        Context::INITIAL_FRAME_SIZE
            <= if cfg!(target_arch = "powerpc64") {
                576
            } else if cfg!(windows) {
                320
            } else {
                256
            }
    );
    const _: () = assert!(Context::INITIAL_FRAME_SIZE % 16 == 0);
    assert!(Context::empty().is_empty());
    assert!(Context::empty().stack_pointer().is_null());
}
