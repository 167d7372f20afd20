//! The overflow message: one text, written by every overflow handler
//! (the signal handler of `src/overflow.rs`, the vectored exception
//! handler of `src/overflow_windows.rs`) and by an embedder's own fault
//! handler through [`crate::memory::overflow_message`]. Without `std` and
//! without allocation: the handlers run on a stack that just overflowed,
//! in a signal handler or an exception.

/// A fixed buffer the message is written into.
pub(crate) struct MessageBuf {
    bytes: [u8; 512],
    len: usize,
}

impl MessageBuf {
    /// An empty buffer.
    pub(crate) const fn new() -> MessageBuf {
        MessageBuf {
            bytes: [0; 512],
            len: 0,
        }
    }

    /// What was written.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn hex(&mut self, v: usize) {
        let mut digits = [0u8; 18];
        digits[0] = b'0';
        digits[1] = b'x';
        let mut n = 2;
        let mut started = false;
        for shift in (0..usize::BITS / 4).rev() {
            let d = (v >> (shift * 4)) & 0xf;
            if d != 0 || started || shift == 0 {
                started = true;
                digits[n] = b"0123456789abcdef"[d];
                n += 1;
            }
        }
        self.push(&digits[..n]);
    }

    fn dec(&mut self, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// What a handler found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// The faulting address is in the guard region.
    Fault { addr: usize },
    /// The stack pointer is in, just below or just above the guard region:
    /// a frame moved it there (and a fault at `addr` followed, where the
    /// system says where).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    StackPointer { addr: Option<usize>, sp: usize },
    /// The kernel could not push a signal frame below `sp`.
    #[cfg_attr(not(all(feature = "std", unix)), allow(dead_code))]
    SignalFrame { sp: usize },
}

/// Writes the message for an overflow of the stack `[guard_hi, stack_hi)`
/// whose guard region is `[guard_lo, guard_hi)`, made of pages of
/// `page_size` bytes.
pub(crate) fn write_message(
    buf: &mut MessageBuf,
    what: Overflow,
    guard_lo: usize,
    guard_hi: usize,
    stack_hi: usize,
    page_size: usize,
) {
    buf.push(b"swapctx: a coroutine has overflowed its stack: ");
    match what {
        Overflow::Fault { addr } => {
            buf.push(b"fault at ");
            buf.hex(addr);
            buf.push(b" in the guard page");
        }
        Overflow::StackPointer { addr, sp } => {
            match addr {
                Some(addr) => {
                    buf.push(b"fault at ");
                    buf.hex(addr);
                    buf.push(b" with the stack pointer at ");
                }
                None => buf.push(b"stack overflow with the stack pointer at "),
            }
            buf.hex(sp);
            buf.push(if sp < guard_lo {
                b" below the guard page".as_slice()
            } else if sp < guard_hi {
                b" in the guard page".as_slice()
            } else {
                b" above the guard page".as_slice()
            });
        }
        Overflow::SignalFrame { sp } => {
            buf.push(b"no room for a signal frame at the stack pointer ");
            buf.hex(sp);
            buf.push(b" above the guard page");
        }
    }
    if guard_hi - guard_lo > page_size {
        buf.push(b"s");
    }
    buf.push(b" ");
    buf.hex(guard_lo);
    buf.push(b"..");
    buf.hex(guard_hi);
    buf.push(b" below the stack ");
    buf.hex(guard_hi);
    buf.push(b"..");
    buf.hex(stack_hi);
    buf.push(b" (");
    buf.dec(stack_hi - guard_hi);
    buf.push(b" bytes); make the stack bigger (Stack::new, Coroutine::with_stack)\n");
}
