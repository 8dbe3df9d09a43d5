/* archcheck.c - pg-check: collect the archiver's state and judge it. */
#include "pg/archcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/timeutil.h"

static char *dupValue(PGresult *res, int row, int col) {
    return lbXstrdup(PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static int64_t usToNs(PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10) * 1000;
}

/* pg_replication_slots, and max_slot_wal_keep_size (PostgreSQL 13+). */
static bool collectSlots(PgConn *conn, ArchcheckReport *r, LbError *err) {
    r->maxSlotWalKeepMb = -1;
    LbError ignored = {0};
    char *keep =
        pgconnQueryValue(conn, "SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size'", &ignored);
    if (keep) {
        r->maxSlotWalKeepMb = strtoll(keep, NULL, 10);
        free(keep);
    }
    bool hasWalStatus = pgconnServerVersionNum(conn) >= 130000;
    PGresult *res =
        pgconnQuery(conn,
                    hasWalStatus ? "SELECT slot_name, slot_type, active::text, coalesce(restart_lsn::text, ''),"
                                   " coalesce(wal_status, ''),"
                                   " CASE WHEN restart_lsn IS NULL THEN NULL WHEN pg_is_in_recovery()"
                                   " THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn)::bigint"
                                   " ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END"
                                   " FROM pg_replication_slots ORDER BY slot_name"
                                 : "SELECT slot_name, slot_type, active::text, coalesce(restart_lsn::text, ''), '',"
                                   " CASE WHEN restart_lsn IS NULL OR pg_is_in_recovery() THEN NULL"
                                   " ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END"
                                   " FROM pg_replication_slots ORDER BY slot_name",
                    0, NULL, err);
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    r->slots = lbXcalloc((size_t)n + 1, sizeof(ArchcheckSlot));
    for (int i = 0; i < n; i++) {
        ArchcheckSlot *sl = &r->slots[r->slotCount++];
        sl->name = dupValue(res, i, 0);
        sl->type = dupValue(res, i, 1);
        sl->active = strcmp(PQgetvalue(res, i, 2), "true") == 0;
        sl->restartLsn = dupValue(res, i, 3);
        sl->walStatus = dupValue(res, i, 4);
        sl->hasLagBytes = !PQgetisnull(res, i, 5);
        sl->lagBytes = sl->hasLagBytes ? strtoll(PQgetvalue(res, i, 5), NULL, 10) : 0;
    }
    PQclear(res);
    return true;
}

#define EPOCH_US(expr) "(extract(epoch FROM " expr ") * 1000000)::bigint"

bool archcheckCollect(PgConn *conn, ArchcheckReport *r, LbError *err) {
    memset(r, 0, sizeof(*r));
    r->readyCount = -1;
    PGresult *res = pgconnQuery(
        conn,
        "SELECT pg_is_in_recovery()::text, current_setting('archive_mode'),"
        " current_setting('archive_command'),"
        " coalesce((SELECT setting FROM pg_settings WHERE name = 'archive_library'), ''),"
        " archived_count, failed_count, coalesce(last_archived_wal, ''),"
        " coalesce(last_failed_wal, ''), " EPOCH_US("last_archived_time") ", " EPOCH_US(
            "last_failed_time") ", " EPOCH_US("stats_reset") ", " EPOCH_US("clock_timestamp()") ","
                                                                                                " CASE WHEN "
                                                                                                "pg_is_in_recovery() "
                                                                                                "THEN ''"
                                                                                                " ELSE "
                                                                                                "pg_walfile_name(pg_"
                                                                                                "current_wal_lsn()) END"
                                                                                                " FROM "
                                                                                                "pg_stat_archiver",
        0, NULL, err);
    if (res == NULL)
        return false;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return lbErr(err, LB_ERR_GENERIC, "unexpected result from pg_stat_archiver");
    }
    r->serverVersion = lbXstrdup(pgconnServerVersion(conn));
    r->inRecovery = strcmp(PQgetvalue(res, 0, 0), "true") == 0;
    r->archiveMode = dupValue(res, 0, 1);
    r->archiveCommand = dupValue(res, 0, 2);
    r->archiveLibrary = dupValue(res, 0, 3);
    r->archivedCount = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
    r->failedCount = strtoull(PQgetvalue(res, 0, 5), NULL, 10);
    r->lastArchivedWal = dupValue(res, 0, 6);
    r->lastFailedWal = dupValue(res, 0, 7);
    r->lastArchivedNs = usToNs(res, 0, 8);
    r->lastFailedNs = usToNs(res, 0, 9);
    r->statsResetNs = usToNs(res, 0, 10);
    r->nowNs = usToNs(res, 0, 11);
    r->currentWal = dupValue(res, 0, 12);
    PQclear(res);

    /* the backlog: needs superuser or pg_monitor; unknown otherwise */
    LbError ignored = {0};
    char *ready =
        pgconnQueryValue(conn, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'", &ignored);
    if (ready) {
        r->readyCount = strtol(ready, NULL, 10);
        free(ready);
    }

    res = pgconnQuery(conn,
                      "SELECT coalesce(application_name, ''), coalesce(client_addr::text, 'local'),"
                      " coalesce(state, ''), coalesce(sync_state, ''),"
                      " CASE WHEN pg_is_in_recovery() OR replay_lsn IS NULL THEN NULL"
                      " ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint END,"
                      " extract(epoch FROM replay_lag)::float8"
                      " FROM pg_stat_replication ORDER BY application_name",
                      0, NULL, err);
    if (res == NULL)
        return false;
    int n = PQntuples(res);
    r->standbys = lbXcalloc((size_t)n + 1, sizeof(ArchcheckStandby));
    for (int i = 0; i < n; i++) {
        ArchcheckStandby *s = &r->standbys[r->standbyCount++];
        s->name = dupValue(res, i, 0);
        s->client = dupValue(res, i, 1);
        s->state = dupValue(res, i, 2);
        s->syncState = dupValue(res, i, 3);
        s->hasLagBytes = !PQgetisnull(res, i, 4);
        s->lagBytes = s->hasLagBytes ? strtoll(PQgetvalue(res, i, 4), NULL, 10) : 0;
        s->hasLagSeconds = !PQgetisnull(res, i, 5);
        s->lagSeconds = s->hasLagSeconds ? strtod(PQgetvalue(res, i, 5), NULL) : 0;
    }
    PQclear(res);
    return collectSlots(conn, r, err);
}

static void reason(ArchcheckReport *r, ArchcheckVerdict level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reason(ArchcheckReport *r, ArchcheckVerdict level, const char *fmt, ...) {
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    r->reasons = lbXrealloc(r->reasons, (r->reasonCount + 1) * sizeof(char *));
    r->reasons[r->reasonCount++] = lbXasprintf("%s: %s", level == ARCHCHECK_FAILING ? "FAILING" : "WARNING", text);
    if (level > r->verdict)
        r->verdict = level;
}

static void ago(int64_t nowNs, int64_t thenNs, char *out, size_t n) {
    double s = (double)(nowNs - thenNs) / 1e9;
    if (s < 120)
        snprintf(out, n, "%.0f s ago", s);
    else if (s < 7200)
        snprintf(out, n, "%.0f min ago", s / 60);
    else
        snprintf(out, n, "%.1f h ago", s / 3600);
}

/* A stalled slot keeps WAL on the primary until its disk fills (or until
 * max_slot_wal_keep_size gives the WAL up); wal-stream's slot inactive means
 * synchronous commits that name it wait. */
static void judgeSlots(ArchcheckReport *r, const ArchcheckLimits *l) {
    bool streamSlotSeen = false;
    for (size_t i = 0; i < r->slotCount; i++) {
        const ArchcheckSlot *sl = &r->slots[i];
        bool ours = l->streamSlot && strcmp(sl->name, l->streamSlot) == 0;
        streamSlotSeen |= ours;
        if (strcmp(sl->walStatus, "lost") == 0)
            reason(r, ours ? ARCHCHECK_FAILING : ARCHCHECK_WARNING,
                   "replication slot '%s' lost WAL it needed (max_slot_wal_keep_size was exceeded)%s", sl->name,
                   ours ? ": the stream has a gap; restart wal-stream and take a new base backup" : "");
        else if (ours && !sl->active)
            reason(r, ARCHCHECK_FAILING,
                   "wal-stream's replication slot '%s' is inactive: WAL is not streamed (synchronous commits naming "
                   "it wait) and the primary keeps WAL for it (%" PRId64 " bytes)",
                   sl->name, sl->hasLagBytes ? sl->lagBytes : 0);
        else if (sl->hasLagBytes && sl->lagBytes > l->maxLagBytes && (ours || !sl->active))
            reason(r, ARCHCHECK_WARNING,
                   "replication slot '%s' (%s) holds %" PRId64 " bytes of WAL on the primary (more than %" PRId64 ")",
                   sl->name, sl->active ? "active" : "inactive", sl->lagBytes, l->maxLagBytes);
        else if (ours && strcmp(sl->walStatus, "unreserved") == 0)
            reason(r, ARCHCHECK_WARNING,
                   "wal-stream's replication slot '%s' is about to lose WAL (wal_status unreserved)", sl->name);
    }
    if (streamSlotSeen && r->maxSlotWalKeepMb < 0)
        reason(r, ARCHCHECK_WARNING,
               "max_slot_wal_keep_size is -1 (unlimited): a stalled stream keeps WAL until the primary's disk is "
               "full. HINT: set a limit such as max_slot_wal_keep_size = '50GB' (docs/postgresql.md).");
}

void archcheckJudge(ArchcheckReport *r, const ArchcheckLimits *l) {
    char when[48];
    r->verdict = ARCHCHECK_OK;
    bool on = strcmp(r->archiveMode, "on") == 0 || strcmp(r->archiveMode, "always") == 0;
    if (!on)
        reason(r, ARCHCHECK_FAILING, "archive_mode is '%s': no WAL is archived", r->archiveMode);
    else if (r->inRecovery && strcmp(r->archiveMode, "always") != 0)
        reason(r, ARCHCHECK_WARNING,
               "this server is a standby and archive_mode is 'on' (not 'always'): the primary archives, check it");
    if (r->archiveCommand[0] == '\0' && r->archiveLibrary[0] == '\0')
        reason(r, ARCHCHECK_FAILING, "archive_command is not set: WAL piles up in pg_wal");
    else if (r->archiveLibrary[0] == '\0' &&
             (strstr(r->archiveCommand, "lifeboat") == NULL || strstr(r->archiveCommand, "wal-push") == NULL))
        reason(r, ARCHCHECK_WARNING, "archive_command does not call 'lifeboat wal-push %%p': '%s'", r->archiveCommand);
    bool lastFailed =
        r->failedCount > 0 && r->lastFailedNs > 0 && (r->lastArchivedNs == 0 || r->lastFailedNs >= r->lastArchivedNs);
    if (lastFailed) {
        ago(r->nowNs, r->lastFailedNs, when, sizeof(when));
        reason(r, ARCHCHECK_FAILING,
               "the last attempt to archive %s failed (%s; %" PRIu64
               " failure(s) counted); the server log has the command's message",
               r->lastFailedWal, when, r->failedCount);
    } else if (r->failedCount > 0) {
        ago(r->nowNs, r->lastFailedNs, when, sizeof(when));
        reason(r, ARCHCHECK_WARNING,
               "%" PRIu64 " archive failure(s) counted, the last for %s %s; archiving has "
               "worked since",
               r->failedCount, r->lastFailedWal, when);
    }
    if (on && r->archivedCount == 0 && !lastFailed)
        reason(r, ARCHCHECK_WARNING, "no WAL file has been archived yet%s",
               r->statsResetNs ? " (since the statistics were reset)" : "");
    if (r->readyCount > 0 && r->lastArchivedNs > 0 && (double)(r->nowNs - r->lastArchivedNs) / 1e9 > l->maxAgeSeconds) {
        ago(r->nowNs, r->lastArchivedNs, when, sizeof(when));
        reason(r, ARCHCHECK_FAILING, "%ld WAL file(s) wait to be archived and the last one was archived %s",
               r->readyCount, when);
    } else if (r->readyCount > l->maxReady) {
        reason(r, ARCHCHECK_WARNING, "%ld WAL files wait to be archived (more than %ld): archiving falls behind",
               r->readyCount, l->maxReady);
    }
    if (r->repoChecked && r->lastArchivedWal[0] && !r->repoHasLast)
        reason(r, ARCHCHECK_FAILING, "the last archived WAL file %s is not in the repository '%s'", r->lastArchivedWal,
               r->repoLocation ? r->repoLocation : "");
    for (size_t i = 0; i < r->standbyCount; i++) {
        const ArchcheckStandby *s = &r->standbys[i];
        if (strcmp(s->state, "streaming") != 0)
            reason(r, ARCHCHECK_WARNING, "standby '%s' (%s) is '%s', not streaming", s->name, s->client, s->state);
        else if (s->hasLagBytes && s->lagBytes > l->maxLagBytes)
            reason(r, ARCHCHECK_WARNING, "standby '%s' (%s) replays %" PRId64 " bytes behind (more than %" PRId64 ")",
                   s->name, s->client, s->lagBytes, l->maxLagBytes);
        else if (s->hasLagSeconds && s->lagSeconds > l->maxLagSeconds)
            reason(r, ARCHCHECK_WARNING, "standby '%s' (%s) replays %.0f s behind (more than %.0f s)", s->name,
                   s->client, s->lagSeconds, l->maxLagSeconds);
    }
    judgeSlots(r, l);
}

const char *archcheckVerdictName(ArchcheckVerdict v) {
    return v == ARCHCHECK_FAILING ? "FAILING" : v == ARCHCHECK_WARNING ? "WARNING" : "OK";
}

static json_t *timeOrNull(int64_t ns) {
    if (ns == 0)
        return json_null();
    char t[48];
    lbFormatTimeNs(ns, t, sizeof(t));
    return json_string(t);
}

json_t *archcheckToJson(const ArchcheckReport *r) {
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(archcheckVerdictName(r->verdict)));
    json_t *reasons = json_array();
    for (size_t i = 0; i < r->reasonCount; i++)
        json_array_append_new(reasons, json_string(r->reasons[i]));
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "server_version", json_string(r->serverVersion));
    json_object_set_new(o, "in_recovery", json_boolean(r->inRecovery));
    json_object_set_new(o, "archive_mode", json_string(r->archiveMode));
    json_object_set_new(o, "archive_command", json_string(r->archiveCommand));
    json_object_set_new(o, "archive_library", json_string(r->archiveLibrary));
    json_object_set_new(o, "archived_count", json_integer((json_int_t)r->archivedCount));
    json_object_set_new(o, "failed_count", json_integer((json_int_t)r->failedCount));
    json_object_set_new(o, "last_archived_wal", r->lastArchivedWal[0] ? json_string(r->lastArchivedWal) : json_null());
    json_object_set_new(o, "last_archived_time", timeOrNull(r->lastArchivedNs));
    json_object_set_new(o, "last_failed_wal", r->lastFailedWal[0] ? json_string(r->lastFailedWal) : json_null());
    json_object_set_new(o, "last_failed_time", timeOrNull(r->lastFailedNs));
    json_object_set_new(o, "current_wal", r->currentWal[0] ? json_string(r->currentWal) : json_null());
    json_object_set_new(o, "ready_count", r->readyCount >= 0 ? json_integer(r->readyCount) : json_null());
    if (r->repoChecked) {
        json_object_set_new(o, "repository", json_string(r->repoLocation ? r->repoLocation : ""));
        json_object_set_new(o, "last_archived_in_repository", json_boolean(r->repoHasLast));
    }
    json_t *sb = json_array();
    for (size_t i = 0; i < r->standbyCount; i++) {
        const ArchcheckStandby *s = &r->standbys[i];
        json_t *e = json_object();
        json_object_set_new(e, "application_name", json_string(s->name));
        json_object_set_new(e, "client", json_string(s->client));
        json_object_set_new(e, "state", json_string(s->state));
        json_object_set_new(e, "sync_state", json_string(s->syncState));
        json_object_set_new(e, "replay_lag_bytes", s->hasLagBytes ? json_integer(s->lagBytes) : json_null());
        json_object_set_new(e, "replay_lag_seconds", s->hasLagSeconds ? json_real(s->lagSeconds) : json_null());
        json_array_append_new(sb, e);
    }
    json_object_set_new(o, "standbys", sb);
    json_t *slots = json_array();
    for (size_t i = 0; i < r->slotCount; i++) {
        const ArchcheckSlot *sl = &r->slots[i];
        json_t *e = json_object();
        json_object_set_new(e, "slot_name", json_string(sl->name));
        json_object_set_new(e, "slot_type", json_string(sl->type));
        json_object_set_new(e, "active", json_boolean(sl->active));
        json_object_set_new(e, "restart_lsn", sl->restartLsn[0] ? json_string(sl->restartLsn) : json_null());
        json_object_set_new(e, "wal_status", sl->walStatus[0] ? json_string(sl->walStatus) : json_null());
        json_object_set_new(e, "lag_bytes", sl->hasLagBytes ? json_integer(sl->lagBytes) : json_null());
        json_array_append_new(slots, e);
    }
    json_object_set_new(o, "replication_slots", slots);
    json_object_set_new(o, "max_slot_wal_keep_size_mb",
                        r->maxSlotWalKeepMb >= 0 ? json_integer(r->maxSlotWalKeepMb) : json_null());
    return o;
}

void archcheckReportClear(ArchcheckReport *r) {
    free(r->serverVersion);
    free(r->archiveMode);
    free(r->archiveCommand);
    free(r->archiveLibrary);
    free(r->lastArchivedWal);
    free(r->lastFailedWal);
    free(r->currentWal);
    free(r->repoLocation);
    for (size_t i = 0; i < r->standbyCount; i++) {
        free(r->standbys[i].name);
        free(r->standbys[i].client);
        free(r->standbys[i].state);
        free(r->standbys[i].syncState);
    }
    free(r->standbys);
    for (size_t i = 0; i < r->slotCount; i++) {
        free(r->slots[i].name);
        free(r->slots[i].type);
        free(r->slots[i].restartLsn);
        free(r->slots[i].walStatus);
    }
    free(r->slots);
    for (size_t i = 0; i < r->reasonCount; i++)
        free(r->reasons[i]);
    free(r->reasons);
    memset(r, 0, sizeof(*r));
}
