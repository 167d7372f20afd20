//! What the safe API refuses at compile time: each case below is a doc
//! test that must fail to compile, with the error code it must fail with
//! (so that a typo cannot make it pass). Built only by `cargo test --doc`.
//!
//! # A coroutine that can be leaked cannot borrow
//!
//! `coroutine_closure_borrowing_a_local`: the closure of a [`Coroutine`]
//! is `'static`.
//! ```compile_fail,E0373
//! let v = vec![1, 2, 3];
//! let mut co = swapctx::Coroutine::<(), usize, ()>::new(|y, ()| {
//!     y.suspend(v.len());
//! });
//! # let _ = co.resume(());
//! ```
//!
//! `coroutine_input_borrowing_a_local`: so is its input type, which the
//! body can keep across a suspend (and hand to a thread it started).
//! ```compile_fail,E0597
//! let mut co = swapctx::Coroutine::<&Vec<u64>, (), ()>::new(|y, v| {
//!     let _keep = v;
//!     y.suspend(());
//! });
//! let v = vec![1u64];
//! let _ = co.resume(&v);
//! drop(v);
//! let _ = co.resume(&vec![]);
//! ```
//!
//! `generator_closure_borrowing_a_local`:
//! ```compile_fail,E0373
//! let v = vec![1, 2, 3];
//! let g = swapctx::Generator::new(|y| for x in &v { y.suspend(*x) });
//! # drop(g);
//! ```
//!
//! # A scoped coroutine cannot leave its scope
//!
//! `scoped_coroutine_returned_from_its_scope`:
//! ```compile_fail
//! let v = vec![1];
//! let co = swapctx::scope(|s| s.coroutine(|_y: &swapctx::Yielder<(), ()>, ()| v.len()));
//! ```
//!
//! `scoped_coroutine_stored_outside_its_scope`:
//! ```compile_fail,E0521
//! let mut keep = Vec::new();
//! swapctx::scope(|s| {
//!     keep.push(s.coroutine(|_y: &swapctx::Yielder<(), ()>, ()| {}));
//! });
//! ```
//!
//! `scope_returned_from_its_closure`:
//! ```compile_fail
//! let s = swapctx::scope(|s| s);
//! ```
//!
//! `scoped_closure_borrowing_what_dies_inside_the_scope`: a scoped
//! coroutine's borrows outlive the scope, not only the handle.
//! ```compile_fail,E0597
//! swapctx::scope(|s| {
//!     let local = vec![1];
//!     let co = s.coroutine(|_y: &swapctx::Yielder<(), ()>, ()| local.len());
//!     std::mem::forget(co);
//! });
//! ```
//!
//! `scoped_input_borrowing_what_dies_inside_the_scope`: a scoped
//! coroutine can keep its input across a suspend, and a forgotten one is
//! only finished when the scope ends.
//! ```compile_fail,E0597
//! swapctx::scope(|s| {
//!     let mut co = s.coroutine(|y: &swapctx::Yielder<&Vec<u8>, ()>, v: &Vec<u8>| {
//!         let _keep = v;
//!         y.suspend(());
//!     });
//!     {
//!         let local = vec![1];
//!         let _ = co.resume(&local);
//!         std::mem::forget(co);
//!     }
//! });
//! ```
//!
//! # A `Yielder` cannot leave its coroutine
//!
//! `yielder_stored_outside_its_closure`:
//! ```compile_fail,E0521
//! let cell = std::cell::Cell::new(None);
//! swapctx::scope(|s| {
//!     let mut co = s.coroutine(|y: &swapctx::Yielder<(), ()>, ()| cell.set(Some(y)));
//!     let _ = co.resume(());
//! });
//! ```
//!
//! `yielder_returned_from_its_closure`:
//! ```compile_fail
//! swapctx::scope(|s| {
//!     let mut co = s.coroutine(|y: &swapctx::Yielder<(), ()>, ()| y);
//!     let _ = co.resume(());
//! });
//! ```
//!
//! `yielder_captured_by_a_scoped_coroutine_of_the_same_scope`: an inner
//! coroutine may suspend an outer one only from a scope inside the outer
//! body (see "Nested coroutines").
//! ```compile_fail,E0521
//! swapctx::scope(|s| {
//!     let mut outer = s.coroutine(|yo: &swapctx::Yielder<(), ()>, ()| {
//!         let _inner = s.coroutine(|_yi: &swapctx::Yielder<(), ()>, ()| yo.suspend(()));
//!     });
//!     let _ = outer.resume(());
//! });
//! ```
//!
//! # Every handle stays on its thread
//!
//! `coroutine_is_not_send`:
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(swapctx::Coroutine::<(), (), ()>::new(|_, ()| {}));
//! ```
//!
//! `coroutine_is_not_sync`:
//! ```compile_fail,E0277
//! fn sync<T: Sync>(_: &T) {}
//! sync(&swapctx::Coroutine::<(), (), ()>::new(|_, ()| {}));
//! ```
//!
//! `generator_is_not_send`:
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(swapctx::Generator::<u8>::new(|_| {}));
//! ```
//!
//! `generator_is_not_sync`:
//! ```compile_fail,E0277
//! fn sync<T: Sync>(_: &T) {}
//! sync(&swapctx::Generator::<u8>::new(|_| {}));
//! ```
//!
//! `yielder_is_not_send`:
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! let _ = swapctx::Coroutine::<(), (), ()>::new(|y, ()| send(y));
//! ```
//!
//! `yielder_is_not_sync`:
//! ```compile_fail,E0277
//! fn sync<T: Sync>(_: &T) {}
//! let _ = swapctx::Coroutine::<(), (), ()>::new(|y, ()| sync(y));
//! ```
//!
//! `scope_is_not_sync`: threads started inside a coroutine cannot make
//! coroutines in its scope.
//! ```compile_fail,E0277
//! swapctx::scope(|s| {
//!     std::thread::scope(|ts| {
//!         ts.spawn(|| drop(s.coroutine(|_y: &swapctx::Yielder<(), ()>, ()| {})));
//!     });
//! });
//! ```
//!
//! `scope_is_not_send`:
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! swapctx::scope(|s| send(s));
//! ```
//!
//! `scoped_coroutine_is_not_send`:
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! swapctx::scope(|s| send(s.coroutine(|_y: &swapctx::Yielder<(), ()>, ()| {})));
//! ```
//!
//! `scoped_coroutine_is_not_sync`:
//! ```compile_fail,E0277
//! fn sync<T: Sync>(_: &T) {}
//! swapctx::scope(|s| sync(&s.coroutine(|_y: &swapctx::Yielder<(), ()>, ()| {})));
//! ```
//!
//! `scoped_generator_is_not_send`:
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! swapctx::scope(|s| send(s.generator(|_y: &swapctx::Yielder<(), u8>| {})));
//! ```
//!
//! `scoped_generator_is_not_sync`:
//! ```compile_fail,E0277
//! fn sync<T: Sync>(_: &T) {}
//! swapctx::scope(|s| sync(&s.generator(|_y: &swapctx::Yielder<(), u8>| {})));
//! ```
//!
//! # Results are used
//!
//! `an_ignored_resume_result_is_an_error_under_deny_unused`: `resume`'s
//! result says whether the coroutine yielded or returned.
//! ```compile_fail
//! #![deny(unused_must_use)]
//! let mut co = swapctx::Coroutine::<(), (), ()>::new(|_, ()| {});
//! co.resume(());
//! ```
//!
//! [`Coroutine`]: crate::Coroutine
