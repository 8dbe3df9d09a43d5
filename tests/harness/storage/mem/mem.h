/*
 * mem.h - in-memory storage driver for tests (thread-safe), with optional
 * fault injection: fail every Nth call of a kind with LB_ERR_IO.
 */
#ifndef LIFEBOAT_HARNESS_STORAGE_MEM_MEM_H
#define LIFEBOAT_HARNESS_STORAGE_MEM_MEM_H

#include "storage/storage.h"

Storage *storageMemNew(void);

#endif
