// Linux calls Swift's Glibc module does not export (they need _GNU_SOURCE).
#pragma once
#include <stddef.h>
#include <sys/types.h>

/// copy_file_range(2) from `in_fd` at *in_offset to `out_fd` at its current position.
/// Returns bytes copied, or -1 with errno set.
long quanta_copy_file_range(int in_fd, long long *in_offset, int out_fd, size_t length);
