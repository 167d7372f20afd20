//! Turns a stack overflow on one of our stacks into a clear message and an
//! abort.
//!
//! A `SIGSEGV`/`SIGBUS` handler, installed once on an alternate signal
//! stack (when the first guard region is registered, see
//! [`install_handler`]), decides whether a fault is one of our stacks
//! overflowing, from the address ranges of the registered guard regions:
//!
//! - the faulting address is in a guard region (the usual case: a frame
//!   touched the guard, directly or with a stack probe);
//! - the interrupted stack pointer is in a guard region (any fault), or at
//!   most [`BELOW`] bytes below one and the fault is on an unmapped address
//!   between the stack pointer and the guard: a frame larger than the guard
//!   moved the stack pointer past it (possible only where frames are not
//!   probed, see `Stack::FRAMES_ARE_PROBED`);
//! - the kernel could not push a signal frame (`si_code` `SI_KERNEL`, no
//!   address) while the stack pointer was in a guard region or less than
//!   [`SIGFRAME_ROOM`] bytes above one: a signal arrived on a nearly full
//!   stack, and without this it would be lost.
//!
//! Each prints
//!
//! ```text
//! swapctx: a coroutine has overflowed its stack: fault at 0x7f3a1c3ff8c8 in the guard page 0x7f3a1c3ff000..0x7f3a1c400000 below the stack 0x7f3a1c400000..0x7f3a1c440000 (262144 bytes); make the stack bigger (Stack::new, Coroutine::with_stack)
//! ```
//!
//! (with the stack pointer named in the other two cases) and aborts, the
//! way Rust reports a thread's overflow. Every other fault goes to the
//! handler that was installed before ours (Rust's own overflow report for
//! threads, or a handler of the program's), or, if there was none, ends the
//! process as the default action would: never by a silent return.
//!
//! The guard regions come from the guard registry (`src/stack/registry.rs`),
//! which every stack registers in; this module sees only their address
//! ranges, through a lock-free lookup that is safe in a signal handler.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use crate::overflow_message::{write_message, MessageBuf as Buf, Overflow};
use crate::stack::page_size;
use crate::stack::registry::{find, GuardRange};

/// How far below a guard region the interrupted stack pointer may be for a
/// fault to count as that stack's overflow (see the module docs). Small on
/// purpose: further down lie other mappings, a thread's stack among them,
/// whose own faults are not ours.
pub(crate) const BELOW: usize = 64 * 1024;

/// How far above a guard region the stack pointer may be when the kernel
/// fails to push a signal frame: a signal frame is a few KiB (x86_64 with
/// AVX-512 about 3.5 KiB, more with AMX or SVE state); 64 KiB covers them.
pub(crate) const SIGFRAME_ROOM: usize = 64 * 1024;

/// `si_code` for a signal the kernel sends itself, such as the `SIGSEGV`
/// that replaces a signal whose frame could not be pushed (`<asm/siginfo.h>`;
/// not in every libc release).
const SI_KERNEL: libc::c_int = 0x80;

/// `si_code` of a `SIGSEGV` on an address that is not mapped.
const SEGV_MAPERR: libc::c_int = 1;

/// The guard region that contains `addr`, if any.
fn lookup(addr: usize) -> Option<GuardRange> {
    find(addr, 0, 0)
}

/// An action that was installed before ours, as the handler needs it:
/// published with atomics before our handler can run (see
/// [`install_handler`]), so that a fault on any thread reads a complete
/// record without a data race.
///
/// Two records, each written once: the action read before ours was
/// installed, and, if another thread of the program changed it in between,
/// the one ours replaced. `published` says which is current (`NONE` until
/// the first is written); a reader never sees a record being written.
struct Previous {
    /// `(sa_sigaction, sa_flags)` of each record.
    records: [(AtomicUsize, AtomicUsize); 2],
    published: AtomicUsize,
}

/// `Previous::published` before anything was published.
const NONE: usize = usize::MAX;

impl Previous {
    const fn new() -> Previous {
        Previous {
            records: [
                (AtomicUsize::new(0), AtomicUsize::new(0)),
                (AtomicUsize::new(0), AtomicUsize::new(0)),
            ],
            published: AtomicUsize::new(NONE),
        }
    }

    /// Writes `old` into record `slot` (0, then 1) and makes it current;
    /// the `Release` store pairs with the handler's `Acquire` load.
    fn publish(&self, slot: usize, old: &libc::sigaction) {
        let (handler, flags) = &self.records[slot];
        handler.store(old.sa_sigaction, Ordering::Relaxed);
        flags.store(old.sa_flags as usize, Ordering::Relaxed);
        self.published.store(slot, Ordering::Release);
    }

    /// `(handler, flags)` of the current record; `SIG_DFL` if none was
    /// published (cannot happen: ours is installed after the first).
    fn read(&self) -> (usize, libc::c_int) {
        match self.published.load(Ordering::Acquire) {
            NONE => (libc::SIG_DFL, 0),
            slot => {
                let (handler, flags) = &self.records[slot];
                (
                    handler.load(Ordering::Relaxed),
                    flags.load(Ordering::Relaxed) as libc::c_int,
                )
            }
        }
    }
}

static OLD_SEGV: Previous = Previous::new();
static OLD_BUS: Previous = Previous::new();

fn previous(sig: libc::c_int) -> &'static Previous {
    if sig == libc::SIGBUS {
        &OLD_BUS
    } else {
        &OLD_SEGV
    }
}

const fn zeroed_sigaction() -> libc::sigaction {
    // SAFETY: sigaction is a plain C struct for which all-zeroes is valid
    // (SIG_DFL, empty mask, no flags).
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// Installs the fault handler once per process, and makes sure the calling
/// thread has an alternate signal stack to run it on. Called before every
/// registration of a guard region (wired in the crate root, so that the
/// stacks do not depend on this module), and by
/// `trap::install_overflow_handler`.
pub(crate) fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: `sigaction` with a null new action only writes `old`;
            // with a new action it installs our handler, which is an
            // `extern "C"` function of the three-argument kind that
            // SA_SIGINFO asks for, and lives for the whole process.
            unsafe {
                // Read the previous action and publish it *before* ours is
                // installed: Linux installs the new action before it copies
                // the old one out (and glibc copies it again after the
                // system call), so a fault on another thread could run our
                // handler before a combined call had reported the old one.
                let mut old = zeroed_sigaction();
                libc::sigaction(sig, ptr::null(), &mut old);
                previous(sig).publish(0, &old);
                let mut action = zeroed_sigaction();
                action.sa_sigaction = handler_entry();
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut replaced = zeroed_sigaction();
                libc::sigaction(sig, &action, &mut replaced);
                // Another thread of the program changed the action between
                // the two calls: chain to the one we replaced.
                if replaced.sa_sigaction != old.sa_sigaction {
                    previous(sig).publish(1, &replaced);
                }
            }
        }
    });
    crate::thread::prepare();
}

/// Size of the alternate signal stacks that swapctx makes for threads that
/// have none (Rust's own threads already have one).
const ALTSTACK_SIZE: usize = 64 * 1024;

/// The pthread key that owns the alternate stacks swapctx makes: its
/// destructor disables and unmaps a thread's stack when the thread exits.
/// A pthread key rather than a Rust thread-local because pthread key
/// destructors run after every thread-local destructor, so the alternate
/// stack is still there for an overflow in one of those.
fn altstack_key() -> Option<libc::pthread_key_t> {
    static KEY: AtomicUsize = AtomicUsize::new(0);
    static MADE: AtomicBool = AtomicBool::new(false);
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: creates a key whose destructor is `free_altstack`, an
        // `extern "C"` function that accepts the values we store.
        if unsafe { libc::pthread_key_create(&mut key, Some(free_altstack)) } == 0 {
            KEY.store(key as usize, Ordering::Relaxed);
            MADE.store(true, Ordering::Release);
        }
    });
    MADE.load(Ordering::Acquire)
        .then(|| KEY.load(Ordering::Relaxed) as libc::pthread_key_t)
}

/// The key's destructor: runs on the exiting thread with the mapping that
/// [`ensure_altstack`] installed there.
unsafe extern "C" fn free_altstack(mem: *mut libc::c_void) {
    // SAFETY: `mem` is the live ALTSTACK_SIZE mapping installed as this
    // thread's alternate stack; nothing runs on it now (we are on the
    // thread's own stack), so it is disabled first and then unmapped.
    unsafe {
        let mut current: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(ptr::null(), &mut current);
        if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_sp == mem {
            let ss = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&ss, ptr::null_mut());
        }
        libc::munmap(mem, ALTSTACK_SIZE);
    }
}

/// Destroyed with the thread's other thread-locals. Rust frees a spawned
/// thread's own alternate signal stack just before those destructors run,
/// so when this one runs, the thread gets one of swapctx's again, for the
/// destructors that run after it (an overflow there then still gets the
/// message; see `docs/reliability.md` for the order).
struct ThreadExit;

impl Drop for ThreadExit {
    fn drop(&mut self) {
        ensure_altstack();
    }
}

std::thread_local! {
    static THREAD_EXIT: ThreadExit = const { ThreadExit };
}

/// Readies a thread the first time swapctx is used on it (through
/// `crate::thread::prepare`, once per thread): gives it an alternate
/// signal stack if it has none.
pub(crate) fn prepare_thread() {
    ensure_altstack();
    // Registers the destructor that re-checks at thread exit (fails only
    // when called from a thread-local destructor already: nothing to do).
    let _ = THREAD_EXIT.try_with(|_| ());
}

/// Gives the calling thread an alternate signal stack if it has none, so
/// that the handler can run when the current stack is exhausted.
pub(crate) fn ensure_altstack() {
    // SAFETY: querying with a null new stack only writes `old`.
    let mut old: libc::stack_t = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::sigaltstack(ptr::null(), &mut old) } != 0 {
        return;
    }
    if old.ss_flags & libc::SS_DISABLE == 0 {
        return; // already has one (Rust's threads do)
    }
    let Some(key) = altstack_key() else {
        return; // nothing could free it: no alternate stack then
    };
    // SAFETY: a fresh anonymous private mapping; checked below.
    let mem = unsafe {
        libc::mmap(
            ptr::null_mut(),
            ALTSTACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mem == libc::MAP_FAILED {
        return; // no alternate stack: an overflow then kills without a message
    }
    // SAFETY: reading our own key's value on this thread.
    let stale = unsafe { libc::pthread_getspecific(key) };
    // SAFETY: `key` is ours; the value is handed to `free_altstack` at
    // thread exit.
    if unsafe { libc::pthread_setspecific(key, mem) } != 0 {
        // SAFETY: not installed, so nobody uses it.
        unsafe { libc::munmap(mem, ALTSTACK_SIZE) };
        return;
    }
    if !stale.is_null() {
        // An alternate stack of ours that someone disabled: unused now.
        // SAFETY: our own mapping, no longer installed.
        unsafe { libc::munmap(stale, ALTSTACK_SIZE) };
    }
    let ss = libc::stack_t {
        ss_sp: mem,
        ss_flags: 0,
        ss_size: ALTSTACK_SIZE,
    };
    // SAFETY: `mem` is a live mapping of ALTSTACK_SIZE bytes, owned by the
    // pthread key until the thread exits.
    unsafe { libc::sigaltstack(&ss, ptr::null_mut()) };
}

/// The message for an overflow of the stack guarded by `g` (the one text
/// of `src/overflow_message.rs`).
fn overflow_message(buf: &mut Buf, what: Overflow, g: GuardRange) {
    write_message(buf, what, g.guard_lo, g.guard_hi, g.stack_hi, page_size());
}

/// The stack pointer of the interrupted code, from the handler's context.
///
/// # Safety
/// `ctx` must be the `ucontext_t` the kernel passed to an `SA_SIGINFO`
/// handler.
unsafe fn interrupted_sp(ctx: *mut libc::c_void) -> Option<usize> {
    let uc = ctx.cast::<libc::ucontext_t>();
    if uc.is_null() {
        return None;
    }
    // SAFETY: per the contract, a valid ucontext_t.
    let mc = unsafe { &(*uc).uc_mcontext };
    #[cfg(target_arch = "x86_64")]
    return Some(mc.gregs[libc::REG_RSP as usize] as usize);
    #[cfg(target_arch = "aarch64")]
    return Some(mc.sp as usize);
    // x2 is sp in the register file the kernel saves (`__gregs[0]` is pc).
    #[cfg(target_arch = "riscv64")]
    return Some(mc.__gregs[2] as usize);
    // r1 is the stack pointer.
    #[cfg(target_arch = "powerpc64")]
    return Some(mc.gp_regs[1] as usize);
    // r15 is the stack pointer.
    #[cfg(target_arch = "s390x")]
    return Some(mc.gregs[15] as usize);
    #[cfg(target_arch = "x86")]
    return Some(mc.gregs[libc::REG_ESP as usize] as u32 as usize);
    #[cfg(target_arch = "arm")]
    return Some(mc.arm_sp as usize);
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "x86",
        target_arch = "arm"
    )))]
    {
        let _ = mc;
        None
    }
}

/// True for the `si_code`s of a fault, whose `si_addr` is meaningful and
/// whose instruction faults again if the handler returns.
fn is_fault(code: libc::c_int) -> bool {
    code > 0 && code != SI_KERNEL
}

/// Decides whether a signal is one of our stacks overflowing (see the
/// module docs for the three cases).
fn classify(code: libc::c_int, addr: usize, sp: Option<usize>) -> Option<(Overflow, GuardRange)> {
    if is_fault(code) {
        if let Some(g) = lookup(addr) {
            return Some((Overflow::Fault { addr }, g));
        }
    }
    let sp = sp?;
    if code == SI_KERNEL {
        let g = find(sp, 0, SIGFRAME_ROOM)?;
        return Some((Overflow::SignalFrame { sp }, g));
    }
    if !is_fault(code) {
        return None; // sent by a process (kill, raise): not an overflow
    }
    let g = find(sp, BELOW, 0)?;
    // In the guard: any fault. Below it: a fault on an unmapped address
    // between the stack pointer and the guard, where a frame that jumped
    // the guard writes (an inaccessible page there is some other stack's
    // guard, whose overflow is not ours).
    let ours = sp >= g.guard_lo
        || (code == SEGV_MAPERR && addr >= sp.saturating_sub(BELOW) && addr < g.guard_lo);
    ours.then_some((
        Overflow::StackPointer {
            addr: Some(addr),
            sp,
        },
        g,
    ))
}

/// The handler's address as the kernel enters it: [`handler`] itself, or
/// on x86 (i386) a stub in front of it that realigns the stack to 16 bytes
/// (what GCC's `force_align_arg_pointer` does): compiled SSE code assumes
/// that alignment, which Linux gives a handler, but qemu-i386 (7.2) aligns
/// the signal frame to 8 bytes only.
fn handler_entry() -> usize {
    #[cfg(target_arch = "x86")]
    {
        extern "C" {
            #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_overflow_handler_realigned")]
            fn realigned();
        }
        realigned as *const () as usize
    }
    #[cfg(not(target_arch = "x86"))]
    {
        handler as *const () as usize
    }
}

// The x86 stub: the three arguments copied below a 16-byte aligned stack
// pointer, then the handler called.
#[cfg(target_arch = "x86")]
core::arch::global_asm!(
    ".pushsection .text",
    concat!(".globl swapctx_", env!("SWAPCTX_SYM_TAG"), "_overflow_handler_realigned"),
    concat!(".hidden swapctx_", env!("SWAPCTX_SYM_TAG"), "_overflow_handler_realigned"),
    concat!(".type swapctx_", env!("SWAPCTX_SYM_TAG"), "_overflow_handler_realigned, @function"),
    concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_overflow_handler_realigned:"),
    "pushl %ebp",                   // save ebp; ebp = the frame the kernel made
    "movl %esp, %ebp",
    "andl $-16, %esp",              // align
    "subl $4, %esp",                // so that esp is aligned again at the call
    "pushl 16(%ebp)",               // ctx
    "pushl 12(%ebp)",               // info
    "pushl 8(%ebp)",                // sig
    "calll {handler}",
    "leave",                        // esp = ebp, restore ebp
    "retl",                         // to the signal return trampoline
    ".popsection",
    handler = sym handler,
    options(att_syntax),
);

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV/SIGBUS.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    // SAFETY: the kernel passes the interrupted context to an SA_SIGINFO
    // handler.
    let sp = unsafe { interrupted_sp(ctx) };
    if let Some((what, g)) = classify(code, addr, sp) {
        let mut buf = Buf::new();
        overflow_message(&mut buf, what, g);
        // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer
        // is a live local.
        unsafe {
            libc::write(2, buf.as_bytes().as_ptr().cast(), buf.as_bytes().len());
            libc::abort();
        }
    }
    // Not ours: hand it to whoever was there before.
    let (old, flags) = previous(sig).read();
    if old == libc::SIG_DFL || (old == libc::SIG_IGN && (is_fault(code) || code == SI_KERNEL)) {
        // A fault cannot be ignored (the kernel would not let it be).
        die_by_default(sig, code);
    } else if old == libc::SIG_IGN {
        // A SIGSEGV sent by a process, which the program ignores.
    } else if flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous owner installed this three-argument handler
        // for this signal; we call it as the kernel would have.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                core::mem::transmute(old);
            f(sig, info, ctx);
        }
    } else {
        // SAFETY: a one-argument handler installed by the previous owner.
        unsafe {
            let f: extern "C" fn(libc::c_int) = core::mem::transmute(old);
            f(sig);
        }
    }
    if !is_fault(code) && old != libc::SIG_IGN {
        // Not a fault (SI_KERNEL: a signal frame that did not fit, a
        // general protection fault; or sent with kill): nothing happens
        // again when the handler returns. If the handler we chained to gave
        // up (Rust's resets the default action and returns, expecting a
        // fault to repeat), end the process as that default would.
        let mut now = zeroed_sigaction();
        // SAFETY: a query only.
        unsafe { libc::sigaction(sig, ptr::null(), &mut now) };
        if now.sa_sigaction == libc::SIG_DFL {
            die_by_default(sig, code);
        }
    }
}

/// Ends the process as the default action of `sig` would, from inside the
/// handler. A fault is left to happen again: the handler resets the action
/// and returns, the instruction runs again and the kernel applies the
/// default (a core dump, with the same `si_addr`, as without us). Any other
/// `SIGSEGV` would not happen again, so it is raised.
fn die_by_default(sig: libc::c_int, code: libc::c_int) {
    let dfl = zeroed_sigaction();
    // SAFETY: sigaction, sigprocmask, raise and _exit are
    // async-signal-safe; a zeroed sigaction is SIG_DFL with an empty mask.
    unsafe {
        libc::sigaction(sig, &dfl, ptr::null_mut());
        if is_fault(code) {
            return;
        }
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
        libc::raise(sig);
        // Not reached: the default action of SIGSEGV and SIGBUS ends the
        // process. Never return silently if it somehow did not.
        libc::_exit(128 + sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::registry::{register, unregister};

    fn text(what: Overflow, g: GuardRange) -> String {
        let mut buf = Buf::new();
        overflow_message(&mut buf, what, g);
        String::from_utf8(buf.as_bytes().to_vec()).unwrap()
    }

    fn range(guard_lo: usize, guard_hi: usize, stack_hi: usize) -> GuardRange {
        GuardRange {
            guard_lo,
            guard_hi,
            stack_hi,
        }
    }

    #[test]
    fn message_names_fault_guard_and_bounds() {
        let page = page_size();
        let g = range(0x100000 - page, 0x100000, 0x140000);
        assert_eq!(
            text(Overflow::Fault { addr: 0xffff8 }, g),
            format!(
                "swapctx: a coroutine has overflowed its stack: fault at 0xffff8 in the guard page \
                 {:#x}..0x100000 below the stack 0x100000..0x140000 (262144 bytes); make the stack \
                 bigger (Stack::new, Coroutine::with_stack)\n",
                0x100000 - page
            )
        );
    }

    #[test]
    fn messages_name_the_stack_pointer_when_it_decided() {
        let g = range(0x100000, 0x200000, 0x240000);
        let below = text(
            Overflow::StackPointer {
                addr: Some(0xf0000),
                sp: 0xf8000,
            },
            g,
        );
        assert!(
            below.contains(
                "fault at 0xf0000 with the stack pointer at 0xf8000 below the guard pages \
                 0x100000..0x200000 below the stack 0x200000..0x240000 (262144 bytes)"
            ),
            "{below}"
        );
        let frame = text(Overflow::SignalFrame { sp: 0x200100 }, g);
        assert!(
            frame.contains(
                "no room for a signal frame at the stack pointer 0x200100 above the guard pages \
                 0x100000..0x200000 below the stack 0x200000..0x240000"
            ),
            "{frame}"
        );
        for t in [below, frame] {
            assert!(t.starts_with("swapctx: a coroutine has overflowed its stack: "));
            assert!(t.ends_with("make the stack bigger (Stack::new, Coroutine::with_stack)\n"));
        }
    }

    #[test]
    fn the_stack_pointer_decides_only_near_a_guard() {
        let page = page_size();
        // An address nothing maps: only the registry is consulted.
        #[cfg(target_pointer_width = "64")]
        let lo = 0x7200_0000_0000usize;
        #[cfg(target_pointer_width = "32")]
        let lo = 0x2400_0000usize;
        let hi = lo + 16 * page;
        let top = hi + 64 * page;
        let reg = register(lo, hi, top);
        let g = range(lo, hi, top);
        let maperr = SEGV_MAPERR;
        // In the guard: ours, wherever the fault.
        assert_eq!(
            classify(maperr, 0x10, Some(lo + 8)),
            Some((
                Overflow::StackPointer {
                    addr: Some(0x10),
                    sp: lo + 8
                },
                g
            ))
        );
        // Just below it, with the fault between the stack pointer and the
        // guard: a frame jumped the guard.
        let sp = lo - 4 * page;
        assert_eq!(
            classify(maperr, sp + 64, Some(sp)),
            Some((
                Overflow::StackPointer {
                    addr: Some(sp + 64),
                    sp
                },
                g
            ))
        );
        // Just below, but a fault elsewhere (a null pointer), or on an
        // inaccessible page (another stack's guard): not ours.
        assert_eq!(classify(maperr, 0x10, Some(sp)), None);
        assert_eq!(classify(2, sp - 64, Some(sp)), None);
        // Far below, or in the usable stack: not ours.
        assert_eq!(
            classify(maperr, lo - BELOW - 64, Some(lo - BELOW - 128)),
            None
        );
        assert_eq!(classify(maperr, 0x10, Some(hi + 8)), None);
        // No room for a signal frame just above the guard: ours; far above,
        // or sent by a process: not ours.
        assert_eq!(
            classify(SI_KERNEL, 0, Some(hi + 512)),
            Some((Overflow::SignalFrame { sp: hi + 512 }, g))
        );
        assert_eq!(classify(SI_KERNEL, 0, Some(hi + SIGFRAME_ROOM + 8)), None);
        assert_eq!(classify(libc::SI_USER, 0, Some(hi + 512)), None);
        unregister(reg);
        assert_eq!(classify(maperr, 0x10, Some(lo + 8)), None);
    }

    #[test]
    fn the_previous_action_is_read_whole_and_latest() {
        let prev = Previous::new();
        assert_eq!(prev.read(), (libc::SIG_DFL, 0));
        let mut first = zeroed_sigaction();
        first.sa_sigaction = 0x1000;
        first.sa_flags = libc::SA_SIGINFO;
        prev.publish(0, &first);
        assert_eq!(prev.read(), (0x1000, libc::SA_SIGINFO));
        let mut replaced = zeroed_sigaction();
        replaced.sa_sigaction = 0x2000;
        prev.publish(1, &replaced);
        assert_eq!(prev.read(), (0x2000, 0));
    }
}
