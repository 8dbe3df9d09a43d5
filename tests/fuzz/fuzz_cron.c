/*
 * fuzz_cron.c - cron expressions (sched/cron.h): the parser of both
 * dialects and the next-fire search in a time zone.
 *
 * Input: one byte choosing the zone (UTC, Europe/Berlin, America/New_York,
 * Australia/Lord_Howe), then the expression. An expression that parses must
 * give fire times that strictly increase from a few fixed instants (1970,
 * a daylight-saving change, 2199), and none at or before its start.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "sched/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const zones[] = {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
    if (size < 1 || size > 512)
        return 0;
    const char *zone = zones[data[0] % 4];
    char *text = fuzzCString(data + 1, size - 1);
    LbError err = {0};
    CronSchedule *cron = cronParse(text, zone, &err);
    if (cron != NULL) {
        static const int64_t starts[] = {0, 1774746000 /* 2026-03-29 01:00 UTC */, 7258118400 /* 2200-01-01 */};
        for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
            int64_t t = starts[s], next;
            for (int i = 0; i < 4 && cronNext(cron, t, &next); i++) {
                if (next <= t)
                    abort();
                t = next;
            }
        }
        cronFree(cron);
    } else if (err.msg[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    free(text);
    return 0;
}
