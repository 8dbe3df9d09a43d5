/* hooks.c - the harness's mem: scheme and fault injector (see hooks.h). */
#include "storage/hooks.h"

#include <stdlib.h>

#include "storage/mem/mem.h"
#include "storage/storage.h"
#include "storage/wrap/fault.h"

static Storage *harnessOpenMem(const char *location, const StorageOptions *opts, LbError *err) {
    (void)location;
    (void)opts;
    (void)err;
    return storageMemNew();
}

static Storage *harnessWrapFaults(Storage *driver, LbError *err) {
    const char *spec = getenv("LIFEBOAT_TEST_FAULTS");
    if (spec == NULL || spec[0] == '\0')
        return driver;
    FaultOptions faults;
    if (!faultOptionsParse(spec, &faults, err)) {
        storageFree(driver);
        return NULL;
    }
    return faults.every > 0 ? storageFaultNew(driver, &faults) : driver;
}

void harnessStorageInstall(void) {
    static const StorageTestHooks hooks = {.scheme = "mem:", .open = harnessOpenMem, .wrap = harnessWrapFaults};
    storageTestHooksSet(&hooks);
}

__attribute__((constructor)) static void harnessStorageInstallAtStart(void) {
    harnessStorageInstall();
}
