/* schedule.c - `lifeboat schedule next 'EXPR'`: the next fire times of a
 * cron expression (sched/cron.h), one ISO-8601 UTC instant a line, or a
 * JSON array of them with --json. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "sched/cron.h"

/* "2010-01-23T12:20:00Z" */
static void formatInstant(int64_t t, char *out, size_t n) {
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cmdSchedule(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    if (v.args.count != 2 || strcmp(v.args.positional[0], "next") != 0) {
        lbErr(&v.err, LB_ERR_ARGS,
              "schedule: expected next 'EXPR', the expression quoted as one argument: lifeboat schedule next '*/15 * * "
              "* *'");
        return cliFailJson(&v.g, &v.err);
    }
    const char *expr = v.args.positional[1];
    const char *tz = cfgStr(cfg, cfgOptTimezone);
    if (!cronTimezoneValid(tz, &v.err)) {
        lbErrorWrap(&v.err, "schedule");
        return cliFailJson(&v.g, &v.err);
    }
    CronSchedule *cron = cronParse(expr, tz, &v.err);
    if (cron == NULL) {
        lbErrorWrap(&v.err, "schedule: '%s'", expr);
        return cliFailJson(&v.g, &v.err);
    }
    int64_t ns = cfgIsSet(cfg, cfgOptAfter) ? cfgInt(cfg, cfgOptAfter) : lbNowNs();
    int64_t t = ns / 1000000000 - (ns % 1000000000 < 0); /* whole seconds, rounded down */
    int64_t count = cfgInt(cfg, cfgOptCount);
    json_t *arr = v.g.json ? json_array() : NULL;
    char buf[64];
    for (int64_t i = 0; i < count && cronNext(cron, t, &t); i++) {
        formatInstant(t, buf, sizeof(buf));
        if (arr != NULL)
            json_array_append_new(arr, json_string(buf));
        else
            printf("%s\n", buf);
    }
    if (arr != NULL)
        cliPrintJson(arr);
    cronFree(cron);
    return 0;
}
