/*
 * local.h - the local-directory storage driver.
 *
 * Objects live at ROOT/<name>. put writes ROOT/<dir>/.tmp-<random>, fsyncs it,
 * renames it over ROOT/<name>, and fsyncs the directory (creating missing
 * directories, fsyncing their parents). list skips temporary files.
 */
#ifndef LIFEBOAT_STORAGE_LOCAL_LOCAL_H
#define LIFEBOAT_STORAGE_LOCAL_LOCAL_H

#include "storage/storage.h"

/* Returns a Storage over directory root (which need not exist yet: put
 * creates directories as needed). Caller frees with storageFree. */
Storage *storageLocalNew(const char *root, LbError *err);

#endif
