//! Register torture: contexts switch at random through a real switch, each
//! loading distinct values into every callee-saved register before each
//! switch and checking what the registers hold once something switches
//! back.
//!
//! Test code only, with one source for two users: the library's unit tests
//! (`src/arch/tests.rs`, through the crate's own switch) and the register
//! storm of `tests/signals/` (through the public
//! `swapctx::raw::swapctx_switch`, with signals landing in the middle).
//! Both include these files with `#[path]`, so they name nothing of the
//! crate: the switch under test is a parameter. One file per architecture
//! (`x86_64.rs`, `aarch64.rs`, `riscv64.rs`, `powerpc64.rs`, `s390x.rs`,
//! `x86.rs`, `arm.rs`) holds its [`Regs`] and the
//! inline asm that loads and stores them around the switch.

// Each user calls only part of it.
#![allow(dead_code)]

use core::ffi::c_void;
use core::ptr;

#[cfg(all(target_arch = "x86_64", not(windows)))]
#[path = "x86_64.rs"]
mod regs;
#[cfg(all(target_arch = "x86_64", windows))]
#[path = "x86_64_windows.rs"]
mod regs;
#[cfg(target_arch = "aarch64")]
#[path = "aarch64.rs"]
mod regs;
#[cfg(target_arch = "riscv64")]
#[path = "riscv64.rs"]
mod regs;
#[cfg(target_arch = "powerpc64")]
#[path = "powerpc64.rs"]
mod regs;
#[cfg(target_arch = "s390x")]
#[path = "s390x.rs"]
mod regs;
#[cfg(target_arch = "x86")]
#[path = "x86.rs"]
mod regs;
#[cfg(target_arch = "arm")]
#[path = "arm.rs"]
mod regs;

#[cfg(target_arch = "powerpc64")]
pub use regs::CR_NONVOLATILE;
pub use regs::{switch_with, Regs};
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
pub use regs::{DEFAULT_MXCSR, DEFAULT_X87CW};

/// The switch under test: `swapctx_switch`'s signature.
pub type SwitchFn = unsafe extern "C" fn(*mut *mut u8, *mut u8, usize) -> usize;

/// The state shared by the main context (0) and the fibers (1..=fibers);
/// only the running context touches it.
pub struct Torture {
    switch: SwitchFn,
    /// Each suspended context's stack pointer (null while it runs).
    pub sps: Vec<*mut u8>,
    /// `(self, id)` for each context: the fibers' entry data.
    ids: Vec<(*mut Torture, usize)>,
    remaining: usize,
    /// The value the next switch delivers; also the number of switches.
    pub counter: usize,
    rng: u64,
    /// x86_64: keep MXCSR and the x87 control word at their defaults (for
    /// Valgrind, which emulates no other modes).
    default_fp_modes: bool,
    /// Called before every switch (the signal storm counts progress).
    on_switch: fn(),
    pub mismatches: usize,
    pub first_mismatch: Option<String>,
    pub wrong_values: usize,
    /// How many times each context came back from a switch.
    pub visits: Vec<usize>,
}

impl Torture {
    /// A torture of `fibers` fibers switching through `switch`; the caller
    /// makes each fiber's context (entry [`fiber_entry`], data
    /// [`Torture::fiber_data`]) and stores its stack pointer in `sps[id]`.
    pub fn new(
        switch: SwitchFn,
        fibers: usize,
        seed: u64,
        default_fp_modes: bool,
        on_switch: fn(),
    ) -> Box<Torture> {
        let mut t = Box::new(Torture {
            switch,
            sps: vec![ptr::null_mut(); fibers + 1],
            ids: Vec::new(),
            remaining: 0,
            counter: 0,
            rng: seed | 1,
            default_fp_modes,
            on_switch,
            mismatches: 0,
            first_mismatch: None,
            wrong_values: 0,
            visits: vec![0; fibers + 1],
        });
        let tp: *mut Torture = &mut *t;
        t.ids = (0..=fibers).map(|id| (tp, id)).collect();
        t
    }

    /// The entry data of fiber `id` (1..=fibers), for [`fiber_entry`]; it
    /// lives as long as the torture.
    pub fn fiber_data(&mut self, id: usize) -> *mut c_void {
        assert!(id > 0 && id < self.ids.len(), "no fiber {id}");
        ptr::addr_of_mut!(self.ids[id]).cast()
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Panics with the first problem seen: a register that did not survive
    /// a switch, a switch that delivered the wrong value, or a context
    /// that came back fewer than `min_visits` times.
    pub fn assert_clean(&self, min_visits: usize) {
        assert_eq!(self.first_mismatch, None);
        assert_eq!(self.mismatches, 0);
        assert_eq!(self.wrong_values, 0, "a switch delivered the wrong value");
        for (i, v) in self.visits.iter().enumerate() {
            assert!(*v >= min_visits, "context {i} ran only {v} times");
        }
    }
}

/// Runs `switches` random switches from the main context (0), which the
/// caller is; returns when a fiber hands back with none left.
///
/// # Safety
/// `t` is live, the caller is its context 0, and every fiber in `t.sps` is
/// a suspended context made as [`Torture::new`] says, whose stack outlives
/// the call.
pub unsafe fn run(t: *mut Torture, switches: usize) {
    // SAFETY: per the contract; the fibers hand `t` back with control.
    unsafe {
        (*t).remaining = switches;
        while ptr::read_volatile(ptr::addr_of!((*t).remaining)) > 0 {
            step(t, 0);
        }
    }
}

/// One switch away from context `me` with fresh values in every
/// callee-saved register, and the checks once something switches back.
///
/// # Safety
/// `t` is live, `me` is the running context, and every other context in
/// `t.sps` is suspended.
unsafe fn step(t: *mut Torture, me: usize) {
    // SAFETY: per the contract; the switch hands `t` over with control.
    unsafe {
        let fibers = (*t).sps.len() - 1;
        let next = if (*t).remaining == 0 {
            0
        } else {
            (*t).remaining -= 1;
            let r = (*t).next_rand() as usize % fibers;
            (me + 1 + r) % (fibers + 1)
        };
        let vals = Regs::pattern((*t).next_rand(), (*t).default_fp_modes);
        (*t).counter += 1;
        ((*t).on_switch)();
        let sent = (*t).counter;
        let mut out = Regs::default();
        let sps = &mut (*t).sps;
        let to = sps[next];
        sps[next] = ptr::null_mut();
        let save = sps.as_mut_ptr().add(me);
        let got = switch_with((*t).switch, save, to, sent, &vals, &mut out);
        (&mut (*t).visits)[me] += 1;
        if got != (*t).counter {
            (*t).wrong_values += 1;
        }
        if out != vals {
            (*t).mismatches += 1;
            if (*t).first_mismatch.is_none() {
                (*t).first_mismatch = Some(format!("context {me}: set {vals:x?}, got {out:x?}"));
            }
        }
    }
}

/// Every fiber's entry function; its data is [`Torture::fiber_data`].
///
/// # Safety
/// As an entry function of `swapctx::raw` (the contract of `EntryFn`);
/// `data` comes from [`Torture::fiber_data`] of a live torture.
pub unsafe extern "C" fn fiber_entry(_value: usize, data: *mut c_void) -> ! {
    // SAFETY: data points at this fiber's (torture, id) pair, which lives
    // as long as the torture.
    let (t, me) = unsafe { *data.cast::<(*mut Torture, usize)>() };
    loop {
        // SAFETY: we are the running context `me`.
        unsafe { step(t, me) };
    }
}
