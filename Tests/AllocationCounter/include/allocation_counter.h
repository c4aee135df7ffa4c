// Test support only (linked into the test executable, never into a GmemKit library):
// counts heap allocations made by the calling thread, by interposing malloc and friends
// over glibc's own entry points. Used to show that VCPU.run() allocates nothing.
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H
#include <stdint.h>
/// Allocations (malloc, calloc, realloc, memalign, posix_memalign, aligned_alloc) made by
/// the calling thread since it started.
uint64_t allocation_counter_thread_count(void);
/// 1 when allocations are counted; 0 in builds with a sanitizer, which owns the allocator.
int allocation_counter_is_active(void);
#endif
