#pragma once
#include <stdint.h>

/// Starts writing back to disk the dirty pages of `length` bytes at `offset` of the open file
/// `fd`, without waiting for them (Linux sync_file_range with SYNC_FILE_RANGE_WRITE; glibc
/// declares it only under _GNU_SOURCE, which Swift's Glibc module is built without).
/// Returns 0, or -1 with errno set (a pipe, a file system that cannot).
int cdb_start_writeback(int fd, int64_t offset, int64_t length);
