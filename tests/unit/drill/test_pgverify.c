/*
 * test_pgverify.c - unit tests for src/drill/pgverify's parsing of the
 * snapshot meta's table keys (quote_ident(schema).quote_ident(table)):
 * plain names, quoted names holding dots and doubled quotes, and keys that
 * are not two identifiers. The checks against a server are in
 * tests/integration/test_drillkit.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drill/pgverify.h"

static void splits(const char *key, const char *schema, const char *table) {
    char *s = NULL, *t = NULL;
    assert_true(pgverifySplitKey(key, &s, &t));
    assert_string_equal(s, schema);
    assert_string_equal(t, table);
    free(s);
    free(t);
}

static void test_split_key(void **state) {
    (void)state;
    splits("public.users", "public", "users");
    splits("public.\"Users\"", "public", "Users");
    splits("\"my.schema\".\"we\"\"ird.t\"", "my.schema", "we\"ird.t");
    splits("\"a\"\"\".b", "a\"", "b");
    splits("s.\"select\"", "s", "select");
    const char *bad[] = {"", "users", "public.", ".users", "a.b.c", "\"open.t", "\"a\"x.b", "a.\"b\"c", "\"\".t"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *s = (char *)"untouched", *t = (char *)"untouched";
        assert_false(pgverifySplitKey(bad[i], &s, &t));
        assert_null(s);
        assert_null(t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
