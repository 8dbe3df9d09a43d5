/*
 * sparse.h - write a restored file's data and leave its zeros as holes.
 */
#ifndef LIFEBOAT_RESTORE_SPARSE_H
#define LIFEBOAT_RESTORE_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write data at offset of fd, leaving every all-zero 4 KiB block (aligned to
 * the file) unwritten: the file was sized with ftruncate, so those stay
 * holes. Short writes and EINTR are retried; false (errno set) on error. */
bool restoreWriteSparse(int fd, const uint8_t *data, size_t len, uint64_t offset);

#endif
