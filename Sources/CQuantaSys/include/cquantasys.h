// Linux calls Swift's Glibc module does not export (they need _GNU_SOURCE).
#pragma once
#include <stddef.h>
#include <sys/types.h>

/// copy_file_range(2) from `in_fd` at *in_offset to `out_fd` at its current position.
/// Returns bytes copied, or -1 with errno set.
long quanta_copy_file_range(int in_fd, long long *in_offset, int out_fd, size_t length);

/// The commit this binary was built from (`git describe --always --dirty`), as `make build` stamps
/// it into quanta_build_info.h before compiling; "" when built without make (a plain `swift build`).
const char *quanta_build_commit(void);

// CPU affinity for --threads (its own header; listed here so module caches see it).
#include "cquantasys_affinity.h"
