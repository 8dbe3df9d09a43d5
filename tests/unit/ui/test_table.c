/*
 * test_table.c - unit tests for src/ui/table: columns sized to their
 * content, right alignment, no trailing blanks, UTF-8 widths, short rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/table.h"

static char *render(const UiTable *t) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    uiTablePrint(t, f);
    fclose(f);
    return out;
}

/* A long cell widens its column; every later column starts at the same
 * offset on every line. */
static void test_widths_follow_content(void **state) {
    (void)state;
    UiTable *t = uiTableNew();
    uiTableColumn(t, "ID", UI_ALIGN_LEFT);
    uiTableColumn(t, "Host", UI_ALIGN_LEFT);
    uiTableColumn(t, "Component", UI_ALIGN_LEFT);
    uiTableColumn(t, "Size", UI_ALIGN_RIGHT);
    uiTableColumn(t, "Paths", UI_ALIGN_LEFT);
    uiTableCell(t, "1a2b3c4d");
    uiTableCell(t, "a-very-long-host-name.example.org");
    uiTableCell(t, "database-physical");
    uiTableCell(t, "1.50 MiB");
    uiTableCell(t, "/srv");
    uiTableCell(t, "5e6f7a8b");
    uiTableCell(t, "h");
    uiTableCell(t, NULL);
    uiTableCellf(t, "%d B", 7);
    uiTableCell(t, "/x");
    assert_int_equal(uiTableRowCount(t), 2);
    char *out = render(t);
    const char *want = "ID        Host                               Component              Size  Paths\n"
                       "1a2b3c4d  a-very-long-host-name.example.org  database-physical  1.50 MiB  /srv\n"
                       "5e6f7a8b  h                                                          7 B  /x\n";
    assert_string_equal(out, want);
    free(out);
    uiTableFree(t);
}

/* No header, a short last row, trailing blanks trimmed, UTF-8 counted as
 * characters. */
static void test_short_rows_and_utf8(void **state) {
    (void)state;
    UiTable *t = uiTableNew();
    uiTableSetHeader(t, false);
    uiTableColumn(t, "", UI_ALIGN_LEFT);
    uiTableColumn(t, "", UI_ALIGN_LEFT);
    uiTableColumn(t, "", UI_ALIGN_LEFT);
    uiTableCell(t, "h\xc3\xa9h\xc3\xa9");
    uiTableCell(t, "b");
    uiTableCell(t, "");
    uiTableCell(t, "x");
    char *out = render(t);
    assert_string_equal(out, "h\xc3\xa9h\xc3\xa9  b\n"
                             "x\n");
    free(out);
    uiTableFree(t);
    uiTableFree(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths_follow_content),
        cmocka_unit_test(test_short_rows_and_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
