// The few C library facilities Swift's Glibc module does not expose.
#define _GNU_SOURCE
#include "SystemShims.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

size_t needletail_allocator_active_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return info.arena + info.hblkhd;
}

size_t needletail_usable_size(const void *pointer) {
    return malloc_usable_size((void *)pointer);
}

void needletail_thread_cpu(double *user, double *system) {
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    *user = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
    *system = usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

// glibc's malloc_info report (XML), in a buffer owned by the caller's thread until its next call.
const char *needletail_malloc_info_report(void) {
    static __thread char *report = NULL;
    static __thread size_t length = 0;
    free(report);
    report = NULL;
    FILE *stream = open_memstream(&report, &length);
    if (!stream) return "";
    malloc_info(0, stream);
    fclose(stream);
    return report ? report : "";
}

void needletail_malloc_trim(void) {
    malloc_trim(0);
}

static void exit_on_crash(int signal_number) {
    static const char message[] = "Needletail crashed (use-exit-on-panic): exiting\n";
    (void)signal_number;
    ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    _exit(1);
}

void needletail_exit_on_crash(void) {
    int signals[] = {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
    for (unsigned index = 0; index < sizeof signals / sizeof signals[0]; index++) {
        struct sigaction action = {0};
        action.sa_handler = exit_on_crash;
        sigaction(signals[index], &action, NULL);
    }
}
