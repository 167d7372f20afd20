/*
 * swapctx.h — stackful contexts for C: guarded stacks, contexts made on
 * them with an entry function, and a switch that passes one pointer-sized
 * value each way. No runtime, no threads, no system call per switch.
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
 * src/capi.rs by tests/capi.rs (names, parameter counts and types, and the
 * value of every status code).
 */
#ifndef SWAPCTX_H
#define SWAPCTX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Return codes. 0 is success; codes 1 to 4, 8 and 9 are the variants of the
 * Rust `swapctx::Error`, in order; 5 to 7 only arise at the C boundary.
 * Each comment is what swapctx_strerror returns for the code (tests/capi.rs
 * checks that they are the same).
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
    SWAPCTX_ERR_ADDRESS_SPACE_LIMIT = 9
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
