/* recover_plan.c - the recovery set of recover and drill: components,
 * snapshots, targets (cmd/recover.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/file_repo.h"
#include "cmd/recover.h"
#include "common/timeutil.h"
#include "pg/pgconn.h"
#include "pg/walwindow.h"
#include "recover/consistency.h"
#include "storage/s3/s3.h"
#include "ui/table.h"

bool recoverIsDatabase(const CfgComponent *c) {
    return c->type == cfgCompPostgres || c->type == cfgCompPostgresPhysical;
}

static bool addComponent(RecoverSet *set, const CfgComponent *c) {
    for (size_t i = 0; i < set->count; i++)
        if (set->items[i].comp == c)
            return true;
    set->items = lbXrealloc(set->items, (set->count + 1) * sizeof(RecoverItem));
    memset(&set->items[set->count], 0, sizeof(RecoverItem));
    set->items[set->count++].comp = c;
    return true;
}

static bool selectComponents(RecoverSet *set, char *const *names, size_t n, LbError *err) {
    const CfgFile *f = set->file;
    if (n == 0)
        return lbErr(err, LB_ERR_ARGS, "name what to recover: partial (the databases), full, or components");
    for (size_t i = 0; i < n; i++) {
        bool partial = strcmp(names[i], "partial") == 0, full = strcmp(names[i], "full") == 0;
        if (partial || full) {
            for (size_t k = 0; k < f->componentCount; k++)
                if (full || recoverIsDatabase(&f->components[k]))
                    addComponent(set, &f->components[k]);
            continue;
        }
        const CfgComponent *c = cfgFileComponent(f, names[i]);
        if (c == NULL) {
            LbBuf known = {0};
            for (size_t k = 0; k < f->componentCount; k++) {
                lbBufAppendStr(&known, k ? ", " : "");
                lbBufAppendStr(&known, f->components[k].name);
            }
            lbBufAppend(&known, "", 1);
            lbErr(err, LB_ERR_ARGS, "'%s' is not a component of %s (it has: %s)", names[i], f->path,
                  (const char *)known.data);
            lbBufFree(&known);
            return false;
        }
        addComponent(set, c);
    }
    if (set->count == 0)
        return lbErr(err, LB_ERR_ARGS, "%s has no database component", f->path);
    /* the databases first: objects the rows refer to come after them */
    for (size_t i = 1; i < set->count; i++)
        for (size_t k = i; k > 0 && recoverIsDatabase(set->items[k].comp) && !recoverIsDatabase(set->items[k - 1].comp);
             k--) {
            RecoverItem t = set->items[k];
            set->items[k] = set->items[k - 1];
            set->items[k - 1] = t;
        }
    return true;
}

bool recoverSetBuild(const CfgFile *file, char *const *names, size_t nameCount, const char *atText, RecoverSet *set,
                     LbError *err) {
    memset(set, 0, sizeof(*set));
    set->file = file;
    set->atText = atText;
    set->nowNs = lbNowNs();
    if (!recoverAtParse(atText, set->nowNs, &set->at, err) || !selectComponents(set, names, nameCount, err))
        return false;
    CliFileRepo *repos = lbXmalloc(file->repositoryCount * sizeof(CliFileRepo));
    size_t opened = 0;
    bool ok = true;
    for (size_t i = 0; i < set->count && ok; i++) {
        RecoverItem *it = &set->items[i];
        it->repo = cfgFileRepository(file, it->comp->repository);
        CliFileRepo *o = NULL;
        for (size_t k = 0; k < opened && o == NULL; k++)
            if (repos[k].repo == it->repo)
                o = &repos[k];
        if (o == NULL) {
            o = &repos[opened++];
            if (!cliFileRepoOpen(o, it->repo, err)) {
                lbErrorWrap(err, "repository '%s'", it->repo->name);
                ok = false;
                break;
            }
        }
        SnapshotFilter f = {.host = it->comp->host, .component = it->comp->name};
        WalWindow w = {0};
        if (it->comp->type == cfgCompPostgresPhysical && !walWindowCompute(o->r.repo, &o->list, &f, &w, err)) {
            ok = false;
            break;
        }
        ok = recoverChoose(&o->list, &f, &w, &set->at, set->nowNs, &it->choice, err);
        if (ok) {
            it->snap = o->list.items[it->choice.index];
            memset(&o->list.items[it->choice.index], 0, sizeof(Snapshot));
            /* the list keeps a placeholder: mark it so a second item cannot pick it */
            o->list.items[it->choice.index].timeNs = INT64_MAX;
        }
    }
    for (size_t k = 0; k < opened; k++)
        cliFileRepoClose(&repos[k]);
    free(repos);
    return ok;
}

bool recoverSetTargets(RecoverSet *set, const char *const *overrides, size_t n, bool required, LbError *err) {
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(overrides[i], '=');
        if (eq == NULL || eq == overrides[i] || eq[1] == '\0')
            return lbErr(err, LB_ERR_ARGS, "--target '%s': expected COMPONENT=TARGET", overrides[i]);
        RecoverItem *it = NULL;
        for (size_t k = 0; k < set->count && it == NULL; k++)
            if (strlen(set->items[k].comp->name) == (size_t)(eq - overrides[i]) &&
                strncmp(set->items[k].comp->name, overrides[i], (size_t)(eq - overrides[i])) == 0)
                it = &set->items[k];
        if (it == NULL)
            return lbErr(err, LB_ERR_ARGS, "--target '%.*s=...': not a component being recovered",
                         (int)(eq - overrides[i]), overrides[i]);
        free(it->target);
        it->target = lbXstrdup(eq + 1);
    }
    for (size_t k = 0; k < set->count; k++) {
        RecoverItem *it = &set->items[k];
        if (it->target == NULL && it->comp->recoveryTarget)
            it->target = lbXstrdup(it->comp->recoveryTarget);
        if (it->target == NULL && required)
            return lbErr(err, LB_ERR_ARGS,
                         "component '%s' has no target: set components.%s.recovery.target in %s or give --target "
                         "%s=...",
                         it->comp->name, it->comp->name, set->file->path, it->comp->name);
    }
    return true;
}

/* A folder that exists and holds an entry (postmaster.pid noted). */
static void inspectDir(RecoverItem *it) {
    DIR *d = opendir(it->target);
    if (d == NULL) {
        if (errno != ENOENT)
            it->targetError = lbXasprintf("unable to read '%s': %s", it->target, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        it->notEmpty = true;
        if (strcmp(e->d_name, "postmaster.pid") == 0)
            it->serverOnIt = true;
    }
    closedir(d);
}

static bool firstObject(void *ctx, const S3ListedObject *o) {
    (void)o;
    *(bool *)ctx = true;
    return false;
}

static void inspectBucket(RecoverItem *it) {
    LbError err = {0};
    CliRepoOptions ro;
    S3Client *c = cliRepoOptionsParse(&ro, it->repo, &err) ? s3ClientNew(it->target, &ro.repo->storage.s3, &err) : NULL;
    bool any = false;
    if (c && !s3ClientListObjects(c, NULL, firstObject, &any, &err) && err.code != LB_ERR_NOT_FOUND)
        it->targetError = lbXasprintf("%s", err.msg);
    it->notEmpty = any;
    if (c == NULL)
        it->targetError = lbXasprintf("%s", err.msg);
    s3ClientFree(c);
    cliRepoOptionsFree(&ro);
}

static void inspectDatabase(RecoverItem *it) {
    LbError err = {0};
    PgConnInfo *info = pgconnInfoNew(it->target, &err);
    PgConn *conn = info ? pgconnOpen(info, &err) : NULL;
    if (conn == NULL) {
        if (info && strstr(err.msg, "does not exist"))
            it->createDb = true;
        else
            it->targetError = lbXasprintf("%s", err.msg);
        pgconnInfoFree(info);
        return;
    }
    char *n = pgconnQueryValue(conn,
                               "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE c.relkind IN ('r','p','v','m','S','f') AND n.nspname NOT IN "
                               "('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'",
                               &err);
    if (n == NULL)
        it->targetError = lbXasprintf("%s", err.msg);
    else
        it->notEmpty = strcmp(n, "0") != 0;
    free(n);
    pgconnClose(conn);
    pgconnInfoFree(info);
}

void recoverSetInspect(RecoverSet *set) {
    for (size_t i = 0; i < set->count; i++) {
        RecoverItem *it = &set->items[i];
        free(it->targetError);
        it->targetError = NULL;
        it->notEmpty = it->serverOnIt = it->createDb = false;
        if (it->target == NULL)
            continue;
        if (it->comp->type == cfgCompPostgres)
            inspectDatabase(it);
        else if (strncmp(it->target, "s3:", 3) == 0)
            inspectBucket(it);
        else
            inspectDir(it);
    }
}

void recoverSetFree(RecoverSet *set) {
    for (size_t i = 0; i < set->count; i++) {
        RecoverItem *it = &set->items[i];
        snapshotClear(&it->snap);
        free(it->target);
        free(it->checkConn);
        free(it->targetError);
        free(it->error);
        json_decref(it->output);
        cliArgvFree(&it->extra);
    }
    free(set->items);
    memset(set, 0, sizeof(*set));
}

static const char *replayName(RecoverReplay r) {
    static const char *const names[] = {"none", "to-time", "to-latest", "to-immediate"};
    return names[r];
}

static json_t *timeJson(int64_t ns) {
    char t[40];
    lbFormatTimeNs(ns, t, sizeof(t));
    return json_string(t);
}

json_t *recoverPlanJson(const RecoverSet *set) {
    json_t *arr = json_array();
    for (size_t i = 0; i < set->count; i++) {
        const RecoverItem *it = &set->items[i];
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&it->snap.id, hex);
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:s, s:I, s:b}", "component", it->comp->name, "type",
                      it->comp->typeName, "repository", it->repo->name, "snapshot_id", hex, "snapshot_time",
                      timeJson(it->snap.timeNs), "read_time", timeJson(it->choice.readNs), "recovered_as_of",
                      timeJson(it->choice.asOfNs), "data_loss_seconds", (double)it->choice.lossNs / 1e9, "wal_replay",
                      replayName(it->choice.replay), "estimated_bytes", (json_int_t)it->snap.summary.totalBytes,
                      "target_not_empty", it->notEmpty);
        if (it->target)
            json_object_set_new(o, "target", json_string(it->target));
        if (it->targetError)
            json_object_set_new(o, "target_error", json_string(it->targetError));
        if (it->createDb)
            json_object_set_new(o, "create_database", json_true());
        json_array_append_new(arr, o);
    }
    json_t *doc = json_pack("{s:s, s:o, s:o}", "message_type", "plan", "now", timeJson(set->nowNs), "components", arr);
    json_object_set_new(doc, "at", json_string(set->atText ? set->atText : "latest"));
    return doc;
}

static void shortTime(int64_t ns, char *out, size_t n) {
    lbFormatTimeShort(ns, out, n);
}

void recoverPlanPrint(const RecoverSet *set, FILE *out) {
    UiTable *t = uiTableNew();
    static const char *const heads[] = {"Component", "Snapshot", "Taken (UTC)", "Recovered as of",
                                        "Data loss", "Size",     "Target"};
    for (int c = 0; c < 7; c++)
        uiTableColumn(t, heads[c], c == 4 || c == 5 ? UI_ALIGN_RIGHT : UI_ALIGN_LEFT);
    for (size_t i = 0; i < set->count; i++) {
        const RecoverItem *it = &set->items[i];
        char hex[LB_ID_HEX_LEN + 1], taken[32], asOf[48], loss[32], size[32];
        lbIdToHex(&it->snap.id, hex);
        shortTime(it->snap.timeNs, taken, sizeof(taken));
        shortTime(it->choice.asOfNs, asOf, sizeof(asOf));
        if (it->choice.replay == RECOVER_REPLAY_TIME || it->choice.replay == RECOVER_REPLAY_LATEST)
            strncat(asOf, " (WAL)", sizeof(asOf) - strlen(asOf) - 1);
        cliFormatDuration((double)it->choice.lossNs / 1e9, loss, sizeof(loss));
        cliFormatBytes((double)it->snap.summary.totalBytes, size, sizeof(size));
        uiTableCell(t, it->comp->name);
        uiTableCellf(t, "%.8s", hex);
        uiTableCell(t, taken);
        uiTableCell(t, asOf);
        uiTableCell(t, loss);
        uiTableCell(t, size);
        if (it->target == NULL)
            uiTableCell(t, "(none)");
        else if (it->targetError)
            uiTableCellf(t, "%s (%s)", it->target, it->targetError);
        else
            uiTableCellf(t, "%s%s%s", it->target, it->notEmpty ? " (not empty)" : "", it->createDb ? " (created)" : "");
    }
    char at[48];
    if (set->at.kind == RECOVER_AT_TIME)
        lbFormatTimeShort(set->at.ns, at, sizeof(at));
    fprintf(out, "Recovery plan as of %s:\n",
            set->at.kind == RECOVER_AT_TIME    ? at
            : set->at.kind == RECOVER_AT_POINT ? set->at.point
                                               : "the latest backup");
    uiTablePrint(t, out);
    uiTableFree(t);
}

static const RecoverItem *itemNamed(const RecoverSet *set, const char *name) {
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->items[i].comp->name, name) == 0)
            return &set->items[i];
    return NULL;
}

static bool checkOne(const RecoverItem *db, const RecoverItem *b, json_t *out, FILE *text, LbError *err) {
    const char *conn = db->checkConn ? db->checkConn : db->comp->type == cfgCompPostgres ? db->target : NULL;
    json_t *o = json_pack("{s:s, s:s, s:s}", "database", db->comp->name, "bucket", b->comp->name, "query",
                          db->comp->consistencyQuery);
    json_array_append_new(out, o);
    if (conn == NULL) {
        json_object_set_new(o, "skipped", json_string("the recovered server was not started"));
        if (text)
            fprintf(text, "consistency %s -> %s: skipped (the recovered server was not started)\n", db->comp->name,
                    b->comp->name);
        return true;
    }
    /* the bucket target's S3 settings are those of its repository's options */
    CliRepoOptions ro;
    ConsistencyResult r = {0};
    bool ok = cliRepoOptionsParse(&ro, b->repo, err) &&
              consistencyCheck(conn, db->comp->consistencyQuery, b->target, &ro.repo->storage.s3, &r, err);
    if (ok) {
        json_t *ex = json_array();
        for (size_t i = 0; i < r.exampleCount; i++)
            json_array_append_new(ex, json_string(r.examples[i]));
        json_object_set_new(o, "referenced", json_integer((json_int_t)r.referenced));
        json_object_set_new(o, "objects", json_integer((json_int_t)r.objects));
        json_object_set_new(o, "missing", json_integer((json_int_t)r.missing));
        json_object_set_new(o, "examples", ex);
        if (text) {
            fprintf(text, "consistency %s -> %s: %llu key(s) referenced, %llu object(s), %llu missing", db->comp->name,
                    b->comp->name, (unsigned long long)r.referenced, (unsigned long long)r.objects,
                    (unsigned long long)r.missing);
            for (size_t i = 0; i < r.exampleCount; i++)
                fprintf(text, "%s%s", i ? ", " : ": ", r.examples[i]);
            fputc('\n', text);
        }
        if (r.missing)
            ok = lbErr(err, LB_ERR_CORRUPT, "consistency: %llu key(s) %s refers to are missing from %s",
                       (unsigned long long)r.missing, db->comp->name, b->comp->name);
    } else {
        json_object_set_new(o, "error", json_string(err->msg));
        if (text)
            fprintf(text, "consistency %s -> %s: %s\n", db->comp->name, b->comp->name, err->msg);
    }
    consistencyResultClear(&r);
    cliRepoOptionsFree(&ro);
    return ok;
}

bool recoverConsistency(const RecoverSet *set, json_t *out, FILE *text, LbError *err) {
    bool ok = true;
    for (size_t i = 0; i < set->count; i++) {
        const RecoverItem *db = &set->items[i];
        const RecoverItem *b = db->comp->consistencyQuery ? itemNamed(set, db->comp->consistencyBucket) : NULL;
        if (b == NULL || !db->ok || !b->ok)
            continue;
        LbError one = {0};
        if (!checkOne(db, b, out, text, &one) && ok) {
            *err = one;
            ok = false;
        }
    }
    return ok;
}
