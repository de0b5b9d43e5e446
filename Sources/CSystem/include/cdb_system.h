#pragma once
#include <stdint.h>

// Linux calls Swift's Glibc module does not declare: glibc declares them only under
// _GNU_SOURCE, which that module is built without. Each returns 0, or -1 with errno set.

/// Starts writing back to disk the dirty pages of `length` bytes at `offset` of the open file
/// `fd`, without waiting for them (sync_file_range with SYNC_FILE_RANGE_WRITE).
int cdb_start_writeback(int fd, int64_t offset, int64_t length);

/// Turns O_DIRECT on or off for the open file `fd` (fcntl F_SETFL): writes then go from the
/// caller's buffer to the disk, past the page cache. Fails on file systems that cannot.
int cdb_set_direct(int fd, int on);
