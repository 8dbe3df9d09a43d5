/* recover.c - `lifeboat recover partial|full|COMPONENT... [--at TIME|POINT]`:
 * restore components of the configuration file as of one instant (see
 * cmd/recover.h and docs/commands.md#recover). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/recover.h"

/* On a terminal, unless --yes: "Recover N component(s)? [y/N]". */
static bool confirm(const RecoverSet *set) {
    if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
        return true;
    fprintf(stderr, "Restore %zu component(s) into the targets above%s? [y/N] ", set->count,
            set->count && set->items[0].notEmpty ? ", replacing what they hold" : "");
    char line[16] = "";
    if (fgets(line, sizeof(line), stdin) == NULL)
        return false;
    return line[0] == 'y' || line[0] == 'Y';
}

/* Every target that cannot be used, as one error. */
static bool checkTargets(const RecoverSet *set, bool clean, LbError *err) {
    for (size_t i = 0; i < set->count; i++) {
        const RecoverItem *it = &set->items[i];
        if (it->targetError)
            return lbErr(err, LB_ERR_ARGS, "component '%s': target '%s': %s", it->comp->name, it->target,
                         it->targetError);
        if (it->serverOnIt)
            return lbErr(err, LB_ERR_ARGS,
                         "component '%s': target '%s' holds postmaster.pid: a server may run on it; stop it first",
                         it->comp->name, it->target);
        if (it->notEmpty && !clean)
            return lbErr(err, LB_ERR_EXISTS,
                         "component '%s': target '%s' is not empty; give --clean to replace what it holds (see "
                         "'lifeboat recover --help')",
                         it->comp->name, it->target);
    }
    return true;
}

int cmdRecover(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    CfgFile *file = cliLoadConfig(cfg, &g);
    if (file == NULL)
        return 1;
    RecoverSet set = {0};
    size_t nt = 0;
    const char *const *targets = cfgList(cfg, cfgOptRecoverTarget, &nt);
    bool clean = cfgFlag(cfg, cfgOptClean), dryRun = cfgFlag(cfg, cfgOptDryRun);
    int rc = 1;
    if (!recoverSetBuild(file, args.positional, args.count, cfgStr(cfg, cfgOptAt), &set, &err) ||
        !recoverSetTargets(&set, targets, nt, true, &err))
        goto fail;
    recoverSetInspect(&set);
    json_t *plan = recoverPlanJson(&set);
    if (!g.json && !g.quiet)
        recoverPlanPrint(&set, stdout);
    if (!checkTargets(&set, clean, &err)) {
        /* the error document carries the plan: a refused recovery still shows it */
        rc = cliFailJsonWith(&g, &err, "plan", json_incref(json_object_get(plan, "components")));
        json_decref(plan);
        goto done;
    }
    if (dryRun) {
        if (g.json)
            cliPrintJson(plan);
        else {
            json_decref(plan);
            printf("dry run: nothing restored\n");
        }
        rc = 0;
        goto done;
    }
    if (!cfgFlag(cfg, cfgOptYes) && !g.json && !confirm(&set)) {
        json_decref(plan);
        lbErr(&err, LB_ERR_ARGS, "recovery cancelled: nothing restored");
        goto fail;
    }
    fflush(stdout);
    bool ok =
        recoverSetRun(&set, &(RecoverRunOptions){.clean = clean, .verify = true, .progress = !g.quiet && !g.json});
    if (!g.json && !g.quiet)
        recoverResultPrint(&set, stdout);
    json_t *checks = json_array();
    LbError cerr = {0};
    bool consistent = recoverConsistency(&set, checks, g.json || g.quiet ? NULL : stdout, &cerr);
    json_t *result = recoverResultJson(&set);
    json_object_set_new(result, "consistency", checks);
    json_object_set_new(result, "plan", json_incref(json_object_get(plan, "components")));
    json_decref(plan);
    if (g.json)
        cliPrintJson(result);
    else
        json_decref(result);
    rc = 0;
    for (size_t i = 0; i < set.count && !ok; i++)
        if (!set.items[i].ok)
            rc = set.items[i].exitCode == 3 && rc != 1 ? 3 : 1;
    if (!consistent) {
        fprintf(stderr, "lifeboat: recover: %s\n", cerr.msg);
        if (rc == 0)
            rc = 3; /* everything restored, but references are missing */
    }
    goto done;
fail:
    rc = cliFailJson(&g, &err);
done:
    recoverSetFree(&set);
    cfgFileFree(file);
    return rc;
}
