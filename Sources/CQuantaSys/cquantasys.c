#define _GNU_SOURCE
#include <unistd.h>
#include "cquantasys.h"

long quanta_copy_file_range(int in_fd, long long *in_offset, int out_fd, size_t length) {
    loff_t offset = (loff_t)*in_offset;
    ssize_t copied = copy_file_range(in_fd, &offset, out_fd, NULL, length, 0);
    *in_offset = (long long)offset;
    return (long)copied;
}

// quanta_build_info.h is written by the Makefile (and git-ignored); only this file includes it, so a
// new commit recompiles one C file and relinks.
#if defined(__has_include)
#if __has_include("quanta_build_info.h")
#include "quanta_build_info.h"
#endif
#endif
#ifndef QUANTA_COMMIT
#define QUANTA_COMMIT ""
#endif

const char *quanta_build_commit(void) { return QUANTA_COMMIT; }
