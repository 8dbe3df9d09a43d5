/* bbstandby.c - base backups from a standby (pg/bbstandby.h). */
#include "pg/bbstandby.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "pg/wal.h"

/* One value from the primary; NULL with err. Caller frees. */
static char *primaryValue(const PgConnInfo *primary, const char *sql, LbError *err) {
    PgConn *c = pgconnOpen(primary, err);
    if (c == NULL) {
        lbErrorWrap(err, "unable to connect to the primary (--pg-primary)");
        return NULL;
    }
    char *v = pgconnQueryValue(c, sql, err);
    pgconnClose(c);
    if (v == NULL)
        lbErrorWrap(err, "unable to query the primary (--pg-primary)");
    return v;
}

bool bbStandbyCheckPrimary(const PgConnInfo *primary, const BasebackupInfo *standby, LbError *err) {
    char *v = primaryValue(primary,
                           "SELECT pg_is_in_recovery()::text || ' ' || "
                           "(SELECT system_identifier FROM pg_control_system())::text",
                           err);
    if (v == NULL)
        return false;
    char rec[8] = "";
    uint64_t sys = 0;
    bool ok = sscanf(v, "%7s %" SCNu64, rec, &sys) == 2;
    free(v);
    if (!ok)
        return lbErr(err, LB_ERR_GENERIC, "unable to read the primary's state (--pg-primary)");
    if (strcmp(rec, "true") == 0)
        return lbErr(err, LB_ERR_ARGS,
                     "--pg-primary names a server in recovery (a standby): it must name the primary, where "
                     "pg_switch_wal() works and whose archive_command archives into this repository");
    if (sys != standby->systemId)
        return lbErr(err, LB_ERR_ARGS,
                     "--pg-primary names another cluster (system identifier %" PRIu64 ") than the standby --pg "
                     "(%" PRIu64 ")",
                     sys, standby->systemId);
    return true;
}

bool bbStandbyFinish(const PgConnInfo *primary, Repo *repo, const BasebackupInfo *info, int timeoutSeconds,
                     LbError *err) {
    char seg[32], lsn[32];
    uint64_t ss = info->walSegmentSize ? info->walSegmentSize : (16u << 20);
    walSegmentName(info->stopTimeline ? info->stopTimeline : info->startTimeline, info->stopLsn ? info->stopLsn - 1 : 0,
                   ss, seg, sizeof(seg));
    walLsnFormat(info->stopLsn, lsn, sizeof(lsn));
    /* a standby cannot finish the segment the backup ends in: the primary */
    char *v = primaryValue(primary, "SELECT pg_switch_wal()::text", err);
    if (v == NULL)
        return lbErrorWrap(err, "unable to have the backup's last WAL segment %s archived", seg);
    lbLogInfo("pg_switch_wal() on the primary: %s; waiting for %s (the backup ends at %s) in the repository", v, seg,
              lsn);
    free(v);
    double start = lbMonotonicSeconds();
    for (;;) {
        bool exists = false;
        WalHeader h;
        if (!walReadHeader(repo, seg, &exists, &h, err))
            return false;
        if (exists)
            return true;
        if (lbMonotonicSeconds() - start > timeoutSeconds)
            return lbErr(err, LB_ERR_GENERIC,
                         "the backup's last WAL segment %s (it ends at %s) was not archived into the repository "
                         "within %d s after pg_switch_wal() on the primary; no snapshot written. HINT: Check the "
                         "primary's archive_command ('lifeboat wal-push %%p' into this repository) with "
                         "'lifeboat pg-check --pg PRIMARY'.",
                         seg, lsn, timeoutSeconds);
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
    }
}
