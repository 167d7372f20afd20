/*
 * producer_consumer.c — the producer → consumer demo through the C API
 * (include/swapctx.h).
 *
 * main is the producer. It makes a consumer context on a guarded stack and
 * sends it ten numbers, one per switch; the consumer prints each one and
 * switches back for the next. A 0 means "no more": the consumer answers
 * with how many numbers it received, for the last time, and is abandoned
 * with its stack.
 *
 * The numbers come from a fixed-seed linear congruential generator (Knuth's
 * MMIX constants), so every run prints the same thing; tests/capi.rs
 * builds this program, runs it and checks its output line by line.
 *
 * Build (from the crate's directory; README.md, "Use from C"):
 *
 *   scripts/install-c.sh /tmp/swapctx
 *   export PKG_CONFIG_PATH=/tmp/swapctx/lib/pkgconfig
 *   cc examples/c/producer_consumer.c $(pkg-config --cflags --libs swapctx) \
 *      -Wl,-rpath,/tmp/swapctx/lib -o producer_consumer
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "swapctx.h"

#define COUNT 10
#define SEED 42u
#define END 0 /* the numbers are 1..10, so 0 can mean "no more" */

static swapctx_context producer = SWAPCTX_CONTEXT_EMPTY;
static swapctx_context consumer = SWAPCTX_CONTEXT_EMPTY;

/* Exits with the code's name and description if `rc` is an error. */
static void check(int rc, const char *what) {
    if (rc != SWAPCTX_OK) {
        const char *name = swapctx_error_name(rc);
        fprintf(stderr, "%s: %s: %s\n", what, name ? name : "?", swapctx_strerror(rc));
        exit(1);
    }
}

/* The next number in 1..10. */
static uintptr_t next_number(uint64_t *state) {
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (uintptr_t)((*state >> 33) % 10 + 1);
}

/* The consumer's entry function: never returns. */
static void consume(uintptr_t value, void *data) {
    (void)data;
    uintptr_t received = 0;
    while (value != END) {
        printf("# consumer: receiving data %" PRIuPTR "\n", value);
        received++;
        /* Back to the producer; the next number arrives in `value`. */
        check(swapctx_context_switch(&consumer, &producer, 0, &value), "consumer switch");
    }
    /* The last switch: nothing resumes this context again. */
    check(swapctx_context_switch(&consumer, &producer, received, NULL), "consumer finish");
    abort(); /* not reached */
}

int main(void) {
    swapctx_stack *stack = NULL;
    check(swapctx_stack_new(64 * 1024, &stack), "swapctx_stack_new");
    check(swapctx_context_new(stack, consume, NULL, &consumer), "swapctx_context_new");

    uint64_t state = SEED;
    for (int i = 0; i < COUNT; i++) {
        uintptr_t n = next_number(&state);
        printf("# producer: sending data %" PRIuPTR "\n", n);
        check(swapctx_context_switch(&producer, &consumer, n, NULL), "producer switch");
    }
    uintptr_t received = 0;
    check(swapctx_context_switch(&producer, &consumer, END, &received), "producer finish");
    printf("# producer: done, the consumer received %" PRIuPTR " items\n", received);

    /* The consumer is suspended in its last switch and never resumed. */
    swapctx_stack_free(stack);
    return 0;
}
