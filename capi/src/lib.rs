//! swapctx's C API (`include/swapctx.h`) as a static library without Rust's
//! `std`: the coroutines on the caller's memory (`swapctx_coro_new`,
//! `_resume`, `_yield`, `_status`, `_data`, `_destroy`) and the error
//! texts (`swapctx_strerror`, `swapctx_error_name`). The functions that
//! need `mmap`'d stacks (`swapctx_stack_*`, `swapctx_context_*`,
//! `swapctx_pool_*`, `swapctx_coro_new_on_stack`, `_from_pool`) are in the
//! `std` library only.
//!
//! What `std` would do on a fatal error, the panic handler below does: it
//! writes the message to stderr (fd 2) with `write(2)` and calls `abort(3)`,
//! both from the C program's own libc.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

// Links the library, whose `#[no_mangle]` functions are the C API.
extern crate swapctx;

use core::fmt::Write;

/// A fixed buffer that a message is formatted into (no allocator here).
struct Buf {
    bytes: [u8; 512],
    len: usize,
}

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.bytes.len() - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut buf = Buf {
        bytes: [0; 512],
        len: 0,
    };
    // swapctx's fatal messages start with "swapctx:" already.
    let _ = write!(buf, "{}", info.message());
    if buf.len == buf.bytes.len() {
        buf.bytes[buf.len - 1] = b'\n';
    } else {
        buf.bytes[buf.len] = b'\n';
        buf.len += 1;
    }
    // SAFETY: write(2) of our own buffer to stderr, then abort(3): both
    // from the C program's libc, callable at any time.
    unsafe {
        libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
        libc::abort()
    }
}
