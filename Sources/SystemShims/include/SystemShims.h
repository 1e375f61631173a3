#ifndef NEEDLETAIL_SYSTEM_SHIMS_H
#define NEEDLETAIL_SYSTEM_SHIMS_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not taken back (usable sizes; see AllocationCounter.c).
size_t needletail_allocated_bytes(void);

/// Bytes the C allocator holds from the system (arena + mmapped).
size_t needletail_allocator_active_bytes(void);

/// The bytes the C allocator reserved for the block at `pointer` (malloc_usable_size).
size_t needletail_usable_size(const void *pointer);

/// CPU seconds of the calling thread, user and system.
void needletail_thread_cpu(double *user, double *system);

#endif
