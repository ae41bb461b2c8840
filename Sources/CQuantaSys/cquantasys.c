#define _GNU_SOURCE
#include <unistd.h>
#include "cquantasys.h"

long quanta_copy_file_range(int in_fd, long long *in_offset, int out_fd, size_t length) {
    loff_t offset = (loff_t)*in_offset;
    ssize_t copied = copy_file_range(in_fd, &offset, out_fd, NULL, length, 0);
    *in_offset = (long long)offset;
    return (long)copied;
}
