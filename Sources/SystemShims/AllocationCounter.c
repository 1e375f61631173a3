// Counts the bytes the C allocator has handed out, as Redis's zmalloc counts them, so that
// `used_memory` and the `maxmemory` check cost one atomic load.
//
// The executable defines the allocation functions, which the dynamic linker binds for every
// library (the Swift runtime, SwiftNIO, glibc's own internal calls); each forwards to glibc's
// allocator and adds the block's usable size to a per-thread balance, which goes into the
// shared total whenever it passes 16 KiB either way. The total can lag the truth by up to
// 16 KiB per thread, never by more; it is exact across threads because a block freed on
// another thread is subtracted there. A thread reading the total adds its own balance, so
// what it allocated or freed itself shows at once (eviction measures what each key freed).
//
// Builds with -DNEEDLETAIL_SYSTEM_ALLOCATOR (the sanitizers, which replace the allocator
// themselves) leave the allocator alone and read the sanitizer's count (or glibc's) instead.
#define _GNU_SOURCE
#include "SystemShims.h"
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>

#ifndef NEEDLETAIL_SYSTEM_ALLOCATOR

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static _Atomic int64_t counted_bytes;
static __thread int64_t thread_balance;
enum { flush_threshold = 16 * 1024 };

static inline void count(int64_t bytes) {
    int64_t balance = thread_balance + bytes;
    if (balance > flush_threshold || balance < -flush_threshold) {
        atomic_fetch_add_explicit(&counted_bytes, balance, memory_order_relaxed);
        balance = 0;
    }
    thread_balance = balance;
}

static inline void *counted(void *pointer) {
    if (pointer) count((int64_t)malloc_usable_size(pointer));
    return pointer;
}

void *malloc(size_t size) {
    return counted(__libc_malloc(size));
}

void *calloc(size_t count, size_t size) {
    return counted(__libc_calloc(count, size));
}

void free(void *pointer) {
    if (!pointer) return;
    count(-(int64_t)malloc_usable_size(pointer));
    __libc_free(pointer);
}

void *realloc(void *pointer, size_t size) {
    size_t before = pointer ? malloc_usable_size(pointer) : 0;
    void *moved = __libc_realloc(pointer, size);
    if (moved) {
        count((int64_t)malloc_usable_size(moved) - (int64_t)before);
    } else if (pointer && size == 0) {
        count(-(int64_t)before);  // realloc(p, 0) frees p
    }
    return moved;
}

void *reallocarray(void *pointer, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(pointer, total);
}

void *memalign(size_t alignment, size_t size) {
    return counted(__libc_memalign(alignment, size));
}

void *aligned_alloc(size_t alignment, size_t size) {
    return counted(__libc_memalign(alignment, size));
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    void *pointer = counted(__libc_memalign(alignment, size));
    if (!pointer) return ENOMEM;
    *result = pointer;
    return 0;
}

void *valloc(size_t size) {
    return memalign(4096, size);
}

void *pvalloc(size_t size) {
    return memalign(4096, (size + 4095) & ~(size_t)4095);
}

// The shared total plus the calling thread's own balance: exact for what this thread did.
size_t needletail_allocated_bytes(void) {
    int64_t total = atomic_load_explicit(&counted_bytes, memory_order_relaxed) + thread_balance;
    return total > 0 ? (size_t)total : 0;
}

#else

// A sanitizer's allocator keeps glibc's statistics at zero but counts for itself.
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

size_t needletail_allocated_bytes(void) {
    if (__sanitizer_get_current_allocated_bytes) return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

#endif
