/*
 * coro_round_trip.c — N resume/yield round trips of a C coroutine on a
 * static buffer, for counting instructions (BENCHMARKS.md):
 *
 *   valgrind --tool=callgrind ./coro_round_trip N
 *
 * run with N and with 2N: the difference divided by N is the cost of one
 * round trip (start-up cancels out). Prints the sum of what was yielded,
 * which .ci/c-coro-nostd.sh checks.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "swapctx.h"

static alignas(SWAPCTX_CORO_ALIGN) unsigned char stack[16 * 1024];

/* Yields 1, 2, 3, ... forever. */
static void *count_up(swapctx_coro *co, void *arg) {
    (void)arg;
    for (uintptr_t i = 1;; i++) {
        swapctx_coro_yield(co, (void *)i, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    swapctx_coro *co = NULL;
    if (swapctx_coro_new(stack, sizeof stack, count_up, NULL, &co) != SWAPCTX_OK) {
        return 1;
    }
    uintptr_t sum = 0;
    for (unsigned long k = 0; k < n; k++) {
        void *out = NULL;
        swapctx_coro_resume(co, NULL, &out);
        sum += (uintptr_t)out;
    }
    printf("%lu round trips, sum %lu\n", n, (unsigned long)sum);
    return swapctx_coro_destroy(co) == SWAPCTX_OK ? 0 : 1;
}
