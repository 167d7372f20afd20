/*
 * producer_consumer_coro.c — the producer → consumer demo with swapctx's C
 * coroutines (include/swapctx.h, "Coroutines").
 *
 * main is the producer. The consumer is a coroutine on a static buffer:
 * each swapctx_coro_resume hands it one number, which it prints before it
 * yields for the next. A 0 means "no more": the consumer's function then
 * returns how many numbers it received, and the coroutine is done.
 *
 * After the exchange, the program checks the error codes a C programmer
 * meets: a resume after the end, a buffer too small or misaligned, a yield
 * from outside the coroutine, and destroying a coroutine that is still
 * suspended. Its last line says how many such checks passed.
 *
 * The numbers come from a fixed-seed linear congruential generator (Knuth's
 * MMIX constants), so every run prints the same; tests/capi.rs builds this
 * program, runs it and checks its output line by line.
 *
 * Build against the static library without Rust's std (README.md, "Use
 * from C"), with nothing else but the C library:
 *
 *   cargo build --release --manifest-path capi/Cargo.toml
 *   cc -std=c11 -Iinclude examples/c/producer_consumer_coro.c \
 *      capi/target/release/libswapctx_nostd.a -o producer_consumer_coro
 */
#include <inttypes.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "swapctx.h"

#define COUNT 10
#define SEED 42u
#define END 0 /* the numbers are 1..10, so 0 can mean "no more" */
#define STACK_SIZE (64 * 1024)

/* The consumer's stack: the embedder's own memory, 16-byte aligned. */
static alignas(SWAPCTX_CORO_ALIGN) unsigned char consumer_stack[STACK_SIZE];

/* Exits with the code's name and description if `rc` is not `want`. */
static void expect(int rc, int want, const char *what) {
    if (rc != want) {
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

/* The consumer: the first number comes as `arg`, the next ones from each
 * yield; returns how many it received. */
static void *consume(swapctx_coro *co, void *arg) {
    uintptr_t value = (uintptr_t)arg, received = 0;
    while (value != END) {
        printf("# consumer: receiving data %" PRIuPTR "\n", value);
        received++;
        void *next = NULL;
        expect(swapctx_coro_yield(co, NULL, &next), SWAPCTX_OK, "consumer yield");
        value = (uintptr_t)next;
    }
    return (void *)received;
}

/* A coroutine that yields once and then waits forever: destroyed while
 * suspended. */
static void *wait_forever(swapctx_coro *co, void *arg) {
    (void)arg;
    for (;;) {
        expect(swapctx_coro_yield(co, swapctx_coro_data(co), NULL), SWAPCTX_OK, "waiter yield");
    }
    return NULL;
}

/* The error codes a C programmer meets; returns how many checks passed. */
static int check_errors(void) {
    static alignas(SWAPCTX_CORO_ALIGN) unsigned char small[SWAPCTX_CORO_MIN_SIZE];
    swapctx_coro *co = NULL;
    int passed = 0;

    /* Too small, misaligned: refused, with *co_out set to NULL. */
    expect(swapctx_coro_new(small, 512, wait_forever, NULL, &co), SWAPCTX_ERR_STACK_TOO_SMALL,
           "512 bytes");
    passed += co == NULL;
    expect(swapctx_coro_new(small + 8, 2048, wait_forever, NULL, &co),
           SWAPCTX_ERR_STACK_MISALIGNED, "misaligned");
    passed += co == NULL;

    /* Destroy while suspended: the memory is ours again at once. */
    int token = 7;
    expect(swapctx_coro_new(small, sizeof small, wait_forever, &token, &co), SWAPCTX_OK, "waiter");
    void *out = NULL;
    expect(swapctx_coro_resume(co, NULL, &out), SWAPCTX_OK, "waiter resume");
    passed += out == &token;
    passed += swapctx_coro_status(co) == SWAPCTX_CORO_SUSPENDED;
    /* A yield from main, not from the coroutine: refused. */
    expect(swapctx_coro_yield(co, NULL, NULL), SWAPCTX_ERR_CORO_NOT_RUNNING, "yield from main");
    passed++;
    expect(swapctx_coro_destroy(co), SWAPCTX_OK, "destroy while suspended");
    passed++;
    return passed;
}

int main(void) {
    swapctx_coro *consumer = NULL;
    expect(swapctx_coro_new(consumer_stack, sizeof consumer_stack, consume, NULL, &consumer),
           SWAPCTX_OK, "swapctx_coro_new");

    uint64_t state = SEED;
    for (int i = 0; i < COUNT; i++) {
        uintptr_t n = next_number(&state);
        printf("# producer: sending data %" PRIuPTR "\n", n);
        expect(swapctx_coro_resume(consumer, (void *)n, NULL), SWAPCTX_OK, "producer resume");
    }
    void *received = NULL;
    expect(swapctx_coro_resume(consumer, (void *)END, &received), SWAPCTX_OK, "producer end");
    expect(swapctx_coro_status(consumer), SWAPCTX_CORO_DONE, "status after the end");
    printf("# producer: done, the consumer received %" PRIuPTR " items\n", (uintptr_t)received);

    /* Resuming a coroutine that is done is an error, not a crash. */
    expect(swapctx_coro_resume(consumer, NULL, NULL), SWAPCTX_ERR_CORO_DONE, "resume after done");
    expect(swapctx_coro_destroy(consumer), SWAPCTX_OK, "destroy");

    int passed = check_errors() + 1;
    printf("# errors: %d of 7 checks passed\n", passed);
    return passed == 7 ? 0 : 1;
}
