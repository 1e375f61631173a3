// The few C library facilities Swift's Glibc module does not expose.
#define _GNU_SOURCE
#include "SystemShims.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
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

// The process's argument strings, as the kernel laid them out (contiguous, NUL-separated):
// the room a new process title is written into, as `ps` and /proc/<pid>/cmdline show it.
static char *arguments_start = NULL;
static size_t arguments_room = 0;

// glibc passes argc, argv and envp to the functions of .init_array.
static void capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc <= 0 || argv == NULL || argv[0] == NULL) return;
    char *end = argv[0] + strlen(argv[0]);
    for (int i = 1; i < argc && argv[i] == end + 1; i++) end = argv[i] + strlen(argv[i]);
    arguments_start = argv[0];
    arguments_room = (size_t)(end - argv[0]);
}
__attribute__((section(".init_array"), used)) static void (*capture_arguments_at_start)(int, char **, char **) = capture_arguments;

size_t needletail_set_process_title(const char *title) {
    if (arguments_start == NULL) return 0;
    size_t length = strnlen(title, arguments_room);
    memcpy(arguments_start, title, length);
    memset(arguments_start + length, 0, arguments_room + 1 - length);
    return length;
}

int needletail_disable_transparent_huge_pages(void) {
    // As Redis: only when the kernel would give them unasked ("[always]").
    char mode[128] = {0};
    FILE *file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (file == NULL) return -1;
    size_t read = fread(mode, 1, sizeof(mode) - 1, file);
    fclose(file);
    if (read == 0 || strstr(mode, "[always]") == NULL) return -1;
    return prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
}
