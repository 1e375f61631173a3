#ifndef NEEDLETAIL_SYSTEM_SHIMS_H
#define NEEDLETAIL_SYSTEM_SHIMS_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not taken back (usable sizes; see AllocationCounter.c).
size_t needletail_allocated_bytes(void);

/// Bytes the C allocator holds from the system (arena + mmapped).
size_t needletail_allocator_active_bytes(void);

/// The bytes the C allocator reserved for the block at `pointer` (malloc_usable_size).
size_t needletail_usable_size(const void *pointer);

/// glibc's malloc_info report (XML); valid on the calling thread until its next call.
const char *needletail_malloc_info_report(void);

/// Gives malloc's free pages back to the system (malloc_trim).
void needletail_malloc_trim(void);

/// A crash (a trap, a bad access, an abort) exits with status 1 instead of dumping core
/// (`use-exit-on-panic`).
void needletail_exit_on_crash(void);

/// CPU seconds of the calling thread, user and system.
void needletail_thread_cpu(double *user, double *system);

/// Writes `title` over the process's argument strings (cut to their room, the rest zeroed), as
/// `ps` and /proc/<pid>/cmdline show it. Returns the bytes written.
size_t needletail_set_process_title(const char *title);

/// Asks the kernel not to back this process with transparent huge pages when it is set to
/// give them to every process (`disable-thp`). 0 when it did.
int needletail_disable_transparent_huge_pages(void);

#endif
