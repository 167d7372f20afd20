/*
 * swapctx.h — stackful contexts for C: guarded stacks, contexts made on
 * them with an entry function, and a switch that passes one pointer-sized
 * value each way; and asymmetric coroutines (resume/yield) on those stacks
 * or on the caller's own memory (see "Coroutines" below). No runtime, no
 * threads, no system call per switch.
 *
 * Install the library, this header and a pkg-config file into a prefix
 * (from the crate's directory; README.md, "Use from C"):
 *
 *   scripts/install-c.sh "$HOME/.local"
 *
 * which builds libswapctx.a and libswapctx.so in release and writes
 * PREFIX/include/swapctx.h, PREFIX/lib/libswapctx.{a,so} and
 * PREFIX/lib/pkgconfig/swapctx.pc. Then link against the shared library:
 *
 *   export PKG_CONFIG_PATH="$HOME/.local/lib/pkgconfig"
 *   cc prog.c $(pkg-config --cflags --libs swapctx) \
 *      -Wl,-rpath,"$(pkg-config --variable=libdir swapctx)" -o prog
 *
 * or against the static one, plus what the Rust standard library needs
 * (the list `rustc --print native-static-libs` gives; CI checks that it
 * is this one):
 *
 *   cc prog.c -I"$HOME/.local/include" "$HOME/.local/lib/libswapctx.a" \
 *      -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o prog
 *
 * The model (the same as the Rust crate's `swapctx::raw`):
 *
 *  - A context is a suspended execution: a stack pointer whose stack holds
 *    the registers the switch saved. `swapctx_context_new` makes a fresh
 *    one whose first resumption calls an entry function.
 *  - `swapctx_context_switch(&save, &to, value, &received)` saves the running
 *    execution into `save` and resumes `to`. It returns when some context
 *    switches back into `save`; `received` then holds what that one sent.
 *    The running code needs no context of its own to start with: `main`
 *    simply switches out into an empty `swapctx_context` slot.
 *  - Switching is symmetric: any context may switch to any other. There is
 *    no parent and no implicit return; an entry function must never
 *    return, it ends by switching away for the last time (if it returns,
 *    the process aborts with a message saying so).
 *  - A context is resumed at most once per suspension: the switch empties
 *    the `to` slot, and only a later switch out of that execution fills
 *    one again.
 *  - Contexts belong to the thread that runs them: switch only to contexts
 *    that this thread made or suspended.
 *
 * Errors are return codes (`enum swapctx_status`); `swapctx_strerror`
 * describes one and `swapctx_error_name` names it. No function unwinds or
 * longjmps into the caller.
 *
 * Every declaration below is checked against the Rust definitions in
 * src/capi.rs and src/capi/coro.rs by the compilers (the unit tests in
 * src/capi/header_check.rs): GCC compiles this header together with the
 * declarations rendered from the Rust types, which rustc checks against
 * the functions, so a type that differs does not compile; the constants
 * are checked with _Static_assert, and enum swapctx_status is generated
 * from the Rust definition.
 */
#ifndef SWAPCTX_H
#define SWAPCTX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Return codes. 0 is success; codes 1 to 4 and 8 to 11 are the variants
 * of the Rust `swapctx::Error`, in order; 5 to 7 and 12 to 14 only arise
 * at the C boundary.
 * Each comment is what swapctx_strerror returns for the code: the enum is
 * generated from the Rust definition (src/capi/header_check.rs).
 */
enum swapctx_status {
    /* success */
    SWAPCTX_OK = 0,
    /* a stack size of 0 bytes was requested; a stack needs at least 1 byte */
    SWAPCTX_ERR_ZERO_STACK_SIZE = 1,
    /* the stack size is too large: rounded up to whole pages and with its
     * guard region it does not fit in the address space; ask for a smaller
     * stack */
    SWAPCTX_ERR_STACK_SIZE_OVERFLOW = 2,
    /* the kernel refused to map the stack (mmap failed): out of address
     * space or memory, or the process reached its mapping limit
     * (vm.max_map_count) or its address-space limit (RLIMIT_AS); use
     * smaller stacks, fewer live coroutines or a pool of stacks
     * (StackPool), or raise the limit */
    SWAPCTX_ERR_MAP = 3,
    /* the kernel refused to install a stack's guard page: made with
     * mprotect, each guard page splits a mapping in two, and the process
     * probably reached its mapping limit (vm.max_map_count): drop stacks
     * you no longer need, reuse them (StackPool), or raise the limit
     * (sysctl -w vm.max_map_count=262144); made in place
     * (MADV_GUARD_INSTALL), it needs Linux 6.13 or later, while guard pages
     * made with mprotect (GuardKind::Mprotect, and Stack::new's fallback)
     * work everywhere */
    SWAPCTX_ERR_GUARD_PAGE = 4,
    /* a pointer argument that must not be NULL was NULL */
    SWAPCTX_ERR_NULL = 5,
    /* the context to switch to is empty (never made, or already resumed) or
     * not a suspended context; nothing was switched */
    SWAPCTX_ERR_BAD_CONTEXT = 6,
    /* internal error: swapctx panicked (a bug; please report it); the panic
     * was stopped at the boundary */
    SWAPCTX_ERR_PANIC = 7,
    /* the process reached its limit on memory mappings (vm.max_map_count):
     * every stack costs one mapping, or two where its guard page is made
     * with mprotect (kernels before Linux 6.13, or SWAPCTX_GUARD=mprotect);
     * drop stacks you no longer need or reuse them (a pool of stacks:
     * StackPool), or raise the limit (sysctl -w vm.max_map_count=262144) */
    SWAPCTX_ERR_MAP_COUNT_LIMIT = 8,
    /* mapping the stack would take the process past its address-space
     * limit, RLIMIT_AS (ulimit -v): each stack reserves its whole size of
     * address space; use smaller stacks, fewer live coroutines, or raise
     * the limit */
    SWAPCTX_ERR_ADDRESS_SPACE_LIMIT = 9,
    /* the memory given for a stack is too small: a stack on the embedder's
     * memory needs at least StackBuf::MIN_SIZE (8192) bytes, for the
     * canary, the coroutine's slots and its first frames; give a bigger
     * buffer */
    SWAPCTX_ERR_STACK_TOO_SMALL = 10,
    /* the memory given for a stack is misaligned: its start and its size
     * must both be multiples of 16 bytes (StackBuf::ALIGN); align the
     * buffer (StackArea, alignas(16), aligned_alloc) and round its size
     * down */
    SWAPCTX_ERR_STACK_MISALIGNED = 11,
    /* the coroutine is done (its function returned); it cannot be resumed,
     * only destroyed */
    SWAPCTX_ERR_CORO_DONE = 12,
    /* the coroutine is running (it is the caller, or resumed the caller);
     * it cannot be resumed or destroyed until it yields */
    SWAPCTX_ERR_CORO_RUNNING = 13,
    /* swapctx_coro_yield must be called by the coroutine itself, on its own
     * stack, while it runs; nothing was switched */
    SWAPCTX_ERR_CORO_NOT_RUNNING = 14
};

/*
 * A stack: mmap'd, committed page by page as it is touched, with a guard
 * region below it. Touching the guard region (a stack overflow) prints a
 * message naming the stack and aborts, instead of corrupting memory, on
 * every thread: swapctx_switch gives a thread that has no alternate signal
 * stack (one made with pthread_create) one of 64 KiB on its first call,
 * freed when the thread exits.
 * Opaque; made by swapctx_stack_new, freed by swapctx_stack_free.
 */
typedef struct swapctx_stack swapctx_stack;

/*
 * A context slot: empty (sp == NULL), or a suspended execution. Treat the
 * field as private; initialise slots with SWAPCTX_CONTEXT_EMPTY. A slot
 * must not move while something is suspended in it through a switch that
 * has not returned yet (the switch writes it when leaving).
 */
typedef struct swapctx_context {
    void *sp;
} swapctx_context;

/* An empty slot, for initialising a swapctx_context. */
#define SWAPCTX_CONTEXT_EMPTY { NULL }

/*
 * An entry function: runs on a fresh context's stack. `value` is what the
 * first switch into the context sent, `data` what swapctx_context_new was
 * given. It must never return: it ends by switching away for the last
 * time. (C cannot spell "never returns" in a function pointer type.)
 */
typedef void (*swapctx_entry_fn)(uintptr_t value, void *data);

/*
 * Maps a stack with at least `size` usable bytes (rounded up to whole
 * pages, and to a minimum of 16 KiB) and a guard page below them, and
 * stores it in *stack_out. On error *stack_out is set to NULL.
 *
 * Returns SWAPCTX_OK, SWAPCTX_ERR_NULL (stack_out is NULL),
 * SWAPCTX_ERR_ZERO_STACK_SIZE, SWAPCTX_ERR_STACK_SIZE_OVERFLOW,
 * SWAPCTX_ERR_MAP or SWAPCTX_ERR_GUARD_PAGE.
 */
int swapctx_stack_new(size_t size, swapctx_stack **stack_out);

/*
 * Unmaps a stack. NULL is ignored. No context made on the stack may run
 * again; one suspended on it is abandoned (nothing on it is cleaned up).
 */
void swapctx_stack_free(swapctx_stack *stack);

/* The usable bytes of a stack (0 for NULL). */
size_t swapctx_stack_size(const swapctx_stack *stack);

/*
 * Makes a fresh context on `stack` and stores it in *context_out. The
 * first switch into it calls entry(value, data) on that stack.
 *
 * One context per stack at a time: the stack must stay alive, and used by
 * nothing else, as long as the context can run.
 *
 * Returns SWAPCTX_OK, or SWAPCTX_ERR_NULL if stack, entry or context_out
 * is NULL.
 */
int swapctx_context_new(swapctx_stack *stack, swapctx_entry_fn entry, void *data,
                        swapctx_context *context_out);

/*
 * Takes the context out of *to (leaving it empty), saves the running
 * execution into *save, and resumes the context taken, which receives
 * `value` (as its entry function's first argument, if it is fresh, or in
 * the `received` of the switch that suspended it).
 *
 * Returns when some context switches back into *save: SWAPCTX_OK, with the
 * value that context sent stored in *received (unless received is NULL).
 * Returns at once, without switching, SWAPCTX_ERR_NULL if save or to is
 * NULL, or SWAPCTX_ERR_BAD_CONTEXT if *to is empty.
 *
 * `save` may be the slot `to` was taken from.
 */
int swapctx_context_switch(swapctx_context *save, swapctx_context *to, uintptr_t value,
                           uintptr_t *received);

/* ---------------------------------------------------------------------------
 * Coroutines: asymmetric, like minicoro's or libaco's. swapctx_coro_resume
 * runs a coroutine until it yields or returns; swapctx_coro_yield, called
 * by the coroutine, goes back to whoever resumed it. A `void *` travels
 * each way. Nothing is allocated: a coroutine's control block lives at the
 * top of its own stack.
 *
 * Three places to run on:
 *  - swapctx_coro_new: memory the caller owns (a static array, malloc,
 *    any allocator). No guard page there: the lowest 32 bytes hold a
 *    canary, checked at every switch back from the coroutine; an overflow
 *    that reached it ends the program with a message naming the stack
 *    (memory below the buffer may already be damaged: size it with
 *    room to spare). This is the one way to make a coroutine in the
 *    no_std static library (libswapctx_nostd.a, see README.md, "Use from
 *    C"), together with swapctx_coro_resume, _yield, _status, _data,
 *    _destroy, swapctx_strerror and swapctx_error_name.
 *  - swapctx_coro_new_on_stack: a guarded swapctx_stack, which stays
 *    the caller's.
 *  - swapctx_coro_new_from_pool: a guarded stack from a swapctx_pool,
 *    given back when the coroutine is destroyed.
 *
 * Destroying a suspended coroutine abandons its frames where they stopped
 * (C frames need no clean-up, as after longjmp); its memory is the
 * caller's again at once. Coroutines belong to the thread that made them.
 * ------------------------------------------------------------------------- */

/* The smallest memory swapctx_coro_new accepts, and its alignment. */
#define SWAPCTX_CORO_MIN_SIZE 8192
#define SWAPCTX_CORO_ALIGN 16

/* What swapctx_coro_status returns. */
enum swapctx_coro_status {
    /* fresh, or waiting in swapctx_coro_yield */
    SWAPCTX_CORO_SUSPENDED = 0,
    /* between swapctx_coro_resume and the next yield or return */
    SWAPCTX_CORO_RUNNING = 1,
    /* its function returned */
    SWAPCTX_CORO_DONE = 2
};

/* A coroutine. Opaque; made by swapctx_coro_new*, ended by
 * swapctx_coro_destroy. */
typedef struct swapctx_coro swapctx_coro;

/* A pool of guarded stacks, reused without a system call. Opaque. */
typedef struct swapctx_pool swapctx_pool;

/*
 * A coroutine's function: `arg` is the value of its first resume. What it
 * returns is handed out by the resume that ran it last; the coroutine is
 * then done.
 */
typedef void *(*swapctx_coro_fn)(swapctx_coro *co, void *arg);

/*
 * Makes a coroutine on `size` bytes at `memory` and stores it in *co_out
 * (NULL on error). `memory` must be 16-byte aligned, `size` a multiple of
 * 16 and at least SWAPCTX_CORO_MIN_SIZE; both stay the caller's, unused by
 * anything else, until the coroutine is destroyed.
 *
 * Returns SWAPCTX_OK, SWAPCTX_ERR_NULL (memory, fn or co_out is NULL),
 * SWAPCTX_ERR_STACK_MISALIGNED or SWAPCTX_ERR_STACK_TOO_SMALL.
 */
int swapctx_coro_new(void *memory, size_t size, swapctx_coro_fn fn, void *data,
                     swapctx_coro **co_out);

/*
 * Makes a coroutine on a stack from swapctx_stack_new; free the stack
 * after destroying the coroutine. Returns SWAPCTX_OK or SWAPCTX_ERR_NULL.
 */
int swapctx_coro_new_on_stack(swapctx_stack *stack, swapctx_coro_fn fn, void *data,
                              swapctx_coro **co_out);

/*
 * Makes a coroutine on a stack taken from `pool`. Returns SWAPCTX_OK,
 * SWAPCTX_ERR_NULL, or the errors of swapctx_stack_new.
 */
int swapctx_coro_new_from_pool(swapctx_pool *pool, swapctx_coro_fn fn, void *data,
                               swapctx_coro **co_out);

/*
 * Runs the coroutine until it yields or returns. `value` is its function's
 * `arg` (first resume) or what its swapctx_coro_yield receives. What it
 * yields or returns is stored in *out (unless out is NULL);
 * swapctx_coro_status then says whether it is done.
 *
 * Returns SWAPCTX_OK, SWAPCTX_ERR_NULL, SWAPCTX_ERR_CORO_DONE (its function
 * has returned) or SWAPCTX_ERR_CORO_RUNNING (it is running: the caller
 * itself, or a coroutine below the caller); nothing is switched on error.
 */
int swapctx_coro_resume(swapctx_coro *co, void *value, void **out);

/*
 * Called by the running coroutine `co`, on its own stack: hands `value` to
 * whoever resumed it and suspends. Returns SWAPCTX_OK once resumed, with
 * the resume's value in *in (unless in is NULL); SWAPCTX_ERR_NULL, or
 * SWAPCTX_ERR_CORO_NOT_RUNNING at once if `co` is not the coroutine that
 * runs this code.
 */
int swapctx_coro_yield(swapctx_coro *co, void *value, void **in);

/* SWAPCTX_CORO_SUSPENDED, _RUNNING or _DONE; SWAPCTX_ERR_NULL for NULL. */
int swapctx_coro_status(const swapctx_coro *co);

/* The `data` the coroutine was made with (NULL for NULL). */
void *swapctx_coro_data(const swapctx_coro *co);

/*
 * Ends a coroutine that is not running (suspended, fresh or done) and
 * gives its memory back: the caller's memory is the caller's again, a
 * pooled stack goes back to its pool. A suspended coroutine is abandoned
 * where it stopped. Returns SWAPCTX_OK, SWAPCTX_ERR_NULL, or
 * SWAPCTX_ERR_CORO_RUNNING (nothing is done).
 */
int swapctx_coro_destroy(swapctx_coro *co);

/*
 * Makes a pool of stacks of at least `stack_size` usable bytes that keeps
 * up to `max_idle` idle stacks, for swapctx_coro_new_from_pool. Returns
 * the codes of swapctx_stack_new.
 */
int swapctx_pool_new(size_t stack_size, size_t max_idle, swapctx_pool **pool_out);

/*
 * Frees a pool and its idle stacks (NULL is ignored). Stacks still used by
 * coroutines are unmapped when those are destroyed.
 */
void swapctx_pool_free(swapctx_pool *pool);

/*
 * What a return code means: a static string, never NULL (an unknown code
 * gets a string saying so).
 */
const char *swapctx_strerror(int code);

/*
 * The name of a return code's constant, e.g. "SWAPCTX_ERR_MAP": a static
 * string, or NULL if `code` is not a swapctx_status.
 */
const char *swapctx_error_name(int code);

#ifdef __cplusplus
}
#endif

#endif /* SWAPCTX_H */
