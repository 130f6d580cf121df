#ifndef SUNLEDGER_CLMDB_SHIM_H
#define SUNLEDGER_CLMDB_SHIM_H
#include <lmdb.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fallocate(2) with mode 0: allocates the blocks of [offset, offset + length)
   that are not yet allocated, extending the file's length if need be, and
   never touches bytes already in the file. Swift's Glibc does not declare it
   (it is a GNU extension); glibc's posix_fallocate is no substitute, as it
   writes zeros where the file system cannot allocate. Returns 0, or -1 with
   errno set. */
static inline int sunledger_fallocate(int fd, long long offset, long long length) {
#ifdef SYS_fallocate
    return (int)syscall(SYS_fallocate, fd, 0, offset, length);
#else
    (void)fd; (void)offset; (void)length;
    errno = ENOSYS;
    return -1;
#endif
}

/* sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writing the dirty
   pages of [offset, offset + length) to disk and returns without waiting.
   It guarantees nothing (fdatasync still does); it only means less is left
   to write when that comes. Returns 0, or -1 with errno set. */
static inline int sunledger_start_writeback(int fd, long long offset, long long length) {
#ifdef SYS_sync_file_range
    return (int)syscall(SYS_sync_file_range, fd, offset, length, 2 /* SYNC_FILE_RANGE_WRITE */);
#else
    (void)fd; (void)offset; (void)length;
    errno = ENOSYS;
    return -1;
#endif
}
#endif
