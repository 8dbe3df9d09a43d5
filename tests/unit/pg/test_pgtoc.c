/*
 * test_pgtoc.c - unit tests for src/pg/pgtoc: parsing `pg_restore --list
 * --verbose` and choosing the entries of tables and schemas. The listing is
 * a real one (PostgreSQL 15) of a database with a foreign key, a trigger, a
 * policy, an owned sequence, a view, a mixed-case name with a space, a
 * second schema with a partitioned table; plus a table "a b" whose listed
 * name begins like table "a"'s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pgtoc.h"

static const char listing[] = ";\n"
                              "; Archive created at 2026-12-03 12:49:12 UTC\n"
                              ";     dbname: app\n"
                              ";     TOC Entries: 41\n"
                              ";     Compression: 0\n"
                              ";     Dump Version: 1.14-0\n"
                              ";     Format: CUSTOM\n"
                              ";     Integer: 4 bytes\n"
                              ";     Offset: 8 bytes\n"
                              ";     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)\n"
                              ";     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)\n"
                              ";\n"
                              ";\n"
                              "; Selected TOC Entries:\n"
                              ";\n"
                              "3397; 0 0 ENCODING - ENCODING \n"
                              "3398; 0 0 STDSTRINGS - STDSTRINGS \n"
                              "3399; 0 0 SEARCHPATH - SEARCHPATH \n"
                              "3400; 1262 16384 DATABASE - app postgres\n"
                              "6; 2615 16412 SCHEMA - s2 postgres\n"
                              "225; 1255 16422 FUNCTION public tf() postgres\n"
                              "218; 1259 16406 TABLE public Mixed Case postgres\n"
                              "3401; 0 0 ACL public COLUMN \"Mixed Case\".\"Some Col\" postgres\n"
                              ";\tdepends on: 218\n"
                              "216; 1259 16386 TABLE public a postgres\n"
                              "3402; 0 0 COMMENT public TABLE a postgres\n"
                              ";\tdepends on: 216\n"
                              "3403; 0 0 COMMENT public COLUMN a.v postgres\n"
                              ";\tdepends on: 216\n"
                              "3404; 0 0 ACL public TABLE a postgres\n"
                              ";\tdepends on: 216\n"
                              "215; 1259 16385 SEQUENCE public a_id_seq postgres\n"
                              ";\tdepends on: 216\n"
                              "3405; 0 0 SEQUENCE OWNED BY public a_id_seq postgres\n"
                              ";\tdepends on: 215\n"
                              "220; 1259 16418 VIEW public av postgres\n"
                              ";\tdepends on: 216 216\n"
                              "217; 1259 16395 TABLE public b postgres\n"
                              "224; 1259 16433 TABLE public seqt postgres\n"
                              "223; 1259 16432 SEQUENCE public seqt_id_seq postgres\n"
                              ";\tdepends on: 224\n"
                              "219; 1259 16413 TABLE s2 c postgres\n"
                              ";\tdepends on: 6\n"
                              "221; 1259 16425 TABLE s2 p postgres\n"
                              ";\tdepends on: 6\n"
                              "222; 1259 16428 TABLE s2 p1 postgres\n"
                              ";\tdepends on: 6 221\n"
                              "3228; 0 0 TABLE ATTACH s2 p1 postgres\n"
                              ";\tdepends on: 222 221\n"
                              "3229; 2604 16389 DEFAULT public a id postgres\n"
                              ";\tdepends on: 215 216 216\n"
                              "3390; 0 16406 TABLE DATA public Mixed Case postgres\n"
                              ";\tdepends on: 218\n"
                              "3388; 0 16386 TABLE DATA public a postgres\n"
                              ";\tdepends on: 216\n"
                              "3389; 0 16395 TABLE DATA public b postgres\n"
                              ";\tdepends on: 217\n"
                              "3394; 0 16433 TABLE DATA public seqt postgres\n"
                              ";\tdepends on: 224\n"
                              "3391; 0 16413 TABLE DATA s2 c postgres\n"
                              ";\tdepends on: 219\n"
                              "3392; 0 16428 TABLE DATA s2 p1 postgres\n"
                              ";\tdepends on: 222\n"
                              "3406; 0 0 SEQUENCE SET public a_id_seq postgres\n"
                              ";\tdepends on: 215\n"
                              "3407; 0 0 SEQUENCE SET public seqt_id_seq postgres\n"
                              ";\tdepends on: 223\n"
                              "3232; 2606 16393 CONSTRAINT public a a_pkey postgres\n"
                              ";\tdepends on: 216\n"
                              "3235; 2606 16400 CONSTRAINT public b b_pkey postgres\n"
                              ";\tdepends on: 217\n"
                              "3238; 2606 16417 CONSTRAINT s2 c c_x_key postgres\n"
                              ";\tdepends on: 219\n"
                              "3233; 1259 16394 INDEX public a_v postgres\n"
                              ";\tdepends on: 216\n"
                              "3236; 1259 16411 INDEX public mixed idx postgres\n"
                              ";\tdepends on: 218\n"
                              "3239; 3381 16431 STATISTICS public st1 postgres\n"
                              ";\tdepends on: 216 216\n"
                              "3241; 2620 16423 TRIGGER public a trg postgres\n"
                              ";\tdepends on: 216 225\n"
                              "3240; 2606 16401 FK CONSTRAINT public b b_a_id_fkey postgres\n"
                              ";\tdepends on: 216 217 3232\n"
                              "3385; 0 16386 ROW SECURITY public a postgres\n"
                              ";\tdepends on: 216\n"
                              "3386; 3256 16424 POLICY public a p1 postgres\n"
                              ";\tdepends on: 216\n"
                              "9001; 1259 20000 TABLE public a b postgres\n"
                              "9002; 0 20000 TABLE DATA public a b postgres\n"
                              ";\tdepends on: 9001\n";

static const PgTocName known[] = {{"public", "a"},    {"public", "b"},   {"public", "Mixed Case"},
                                  {"public", "seqt"}, {"public", "a b"}, {"s2", "c"},
                                  {"s2", "p"},        {"s2", "p1"}};
static char *const baseSchemas[] = {"public", "pg_catalog"};

/* Is the entry with dump ID id in the list? */
static bool listed(const PgTocSelection *sel, int id) {
    char want[32];
    snprintf(want, sizeof(want), "%d; ", id);
    const char *list = (const char *)sel->list.data;
    for (const char *p = list; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, want, strlen(want)) == 0)
            return true;
    return false;
}

static bool select1(PgTocName *tables, size_t tableCount, PgTocName *schemas, size_t schemaCount,
                    const PgTocName *targetTables, size_t targetTableCount, PgTocSelection *sel, LbError *err) {
    PgToc *toc = pgtocNew(listing);
    PgTocRequest req = {.tables = tables,
                        .tableCount = tableCount,
                        .schemas = schemas,
                        .schemaCount = schemaCount,
                        .known = known,
                        .knownCount = sizeof(known) / sizeof(known[0]),
                        .targetSchemas = baseSchemas,
                        .targetSchemaCount = 2,
                        .targetTables = targetTables,
                        .targetTableCount = targetTableCount,
                        .dumpName = "snapshot 1a2b3c4d's dump"};
    bool ok = pgtocSelect(toc, &req, sel, err);
    pgtocFree(toc);
    return ok;
}

static void testParse(void **state) {
    (void)state;
    PgToc *toc = pgtocNew(listing);
    assert_int_equal(pgtocCount(toc), 43);
    pgtocFree(toc);
    toc = pgtocNew("; only comments\n\nnot an entry\n12 no semicolon\n");
    assert_int_equal(pgtocCount(toc), 0);
    pgtocFree(toc);
}

static void testNames(void **state) {
    (void)state;
    LbError err = {0};
    PgTocName n;
    assert_true(pgtocNameParse("public.orders", true, &n, &err));
    assert_string_equal(n.schema, "public");
    assert_string_equal(n.name, "orders");
    pgtocNameClear(&n);
    assert_true(pgtocNameParse("\"My.Schema\".\"Say \"\"hi\"\"\"", true, &n, &err));
    assert_string_equal(n.schema, "My.Schema");
    assert_string_equal(n.name, "Say \"hi\"");
    pgtocNameClear(&n);
    assert_true(pgtocNameParse("Public.Orders", true, &n, &err)); /* as written: no case folding */
    assert_string_equal(n.name, "Orders");
    pgtocNameClear(&n);
    assert_true(pgtocNameParse("my schema", false, &n, &err));
    assert_string_equal(n.schema, "my schema");
    assert_null(n.name);
    pgtocNameClear(&n);
    const char *bad[] = {"orders", "a.b.c", "\"open.t", ".t", "s.", "\"\".t", "\"a\"x.t"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lbErrorClear(&err);
        assert_false(pgtocNameParse(bad[i], true, &n, &err));
        assert_int_equal(err.code, LB_ERR_ARGS);
        assert_non_null(strstr(err.msg, bad[i]));
        assert_null(n.schema);
    }
    assert_false(pgtocNameParse("\"open", false, &n, &err));
    assert_false(pgtocNameParse("", false, &n, &err));
}

/* table a: its data, sequence, default, constraints, index, statistics,
 * trigger, policies, comments, privileges; not the view on it, not b, not
 * the foreign key of b (reported) */
static void testOneTable(void **state) {
    (void)state;
    LbError err = {0};
    PgTocSelection sel;
    PgTocName t[] = {{"public", "a"}};
    assert_true(select1(t, 1, NULL, 0, NULL, 0, &sel, &err));
    const int in[] = {216,  3402, 3403, 3404, 215,  3405, 3229, 3388, 3406,
                      3232, 3233, 3239, 3241, 3385, 3386, 3397, 3398, 3399};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        assert_true(listed(&sel, in[i]));
    const int out[] = {220, 217, 3389, 3240, 9001, 9002, 218, 6, 3400, 225};
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
        assert_false(listed(&sel, out[i]));
    assert_int_equal(sel.selected, sizeof(in) / sizeof(in[0]));
    assert_non_null(sel.leftOut);
    assert_non_null(strstr(sel.leftOut, "left out FK CONSTRAINT public b b_a_id_fkey: it needs TABLE public b"));
    pgtocSelectionClear(&sel);

    /* the target has b: the foreign key comes back */
    PgTocName has[] = {{"public", "b"}};
    assert_true(select1(t, 1, NULL, 0, has, 1, &sel, &err));
    assert_true(listed(&sel, 3240));
    assert_null(sel.leftOut);
    pgtocSelectionClear(&sel);
}

/* "a b" is not "a", and the other way round */
static void testNameWithSpace(void **state) {
    (void)state;
    LbError err = {0};
    PgTocSelection sel;
    PgTocName t[] = {{"public", "a b"}};
    assert_true(select1(t, 1, NULL, 0, NULL, 0, &sel, &err));
    assert_true(listed(&sel, 9001) && listed(&sel, 9002));
    assert_false(listed(&sel, 216) || listed(&sel, 3388));
    pgtocSelectionClear(&sel);
    PgTocName m[] = {{"public", "Mixed Case"}};
    assert_true(select1(m, 1, NULL, 0, NULL, 0, &sel, &err));
    assert_true(listed(&sel, 218) && listed(&sel, 3390) && listed(&sel, 3236) && listed(&sel, 3401));
    pgtocSelectionClear(&sel);
}

static void testTwoTables(void **state) {
    (void)state;
    LbError err = {0};
    PgTocSelection sel;
    PgTocName t[] = {{"public", "b"}, {"public", "a"}};
    assert_true(select1(t, 2, NULL, 0, NULL, 0, &sel, &err));
    assert_true(listed(&sel, 3240) && listed(&sel, 3389) && listed(&sel, 3235));
    assert_null(sel.leftOut);
    pgtocSelectionClear(&sel);
}

/* schema s2: its SCHEMA entry (the target lacks it), its tables, the
 * partition and its ATTACH; nothing of public */
static void testSchema(void **state) {
    (void)state;
    LbError err = {0};
    PgTocSelection sel;
    PgTocName s[] = {{"s2", NULL}};
    assert_true(select1(NULL, 0, s, 1, NULL, 0, &sel, &err));
    const int in[] = {6, 219, 221, 222, 3228, 3391, 3392, 3238};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        assert_true(listed(&sel, in[i]));
    assert_false(listed(&sel, 216) || listed(&sel, 217) || listed(&sel, 3400));
    assert_null(sel.leftOut);
    pgtocSelectionClear(&sel);

    /* a table of s2 alone brings the schema, and the partition's ATTACH to
     * a parent not restored is left out */
    PgTocName t[] = {{"s2", "p1"}};
    assert_true(select1(t, 1, NULL, 0, NULL, 0, &sel, &err));
    assert_true(listed(&sel, 6) && listed(&sel, 222) && listed(&sel, 3392));
    assert_false(listed(&sel, 221) || listed(&sel, 3228) || listed(&sel, 219));
    assert_non_null(strstr(sel.leftOut, "TABLE ATTACH s2 p1"));
    pgtocSelectionClear(&sel);

    /* a parent brings its partitions */
    PgTocName p[] = {{"s2", "p"}};
    assert_true(select1(p, 1, NULL, 0, NULL, 0, &sel, &err));
    assert_true(listed(&sel, 221) && listed(&sel, 222) && listed(&sel, 3228) && listed(&sel, 3392));
    pgtocSelectionClear(&sel);
}

static void testNotFound(void **state) {
    (void)state;
    LbError err = {0};
    PgTocSelection sel;
    PgTocName t[] = {{"public", "a"}, {"public", "nosuch"}};
    assert_false(select1(t, 2, NULL, 0, NULL, 0, &sel, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "table 'public.nosuch' is not in snapshot 1a2b3c4d's dump"));
    assert_null(sel.leftOut);
    lbErrorClear(&err);
    PgTocName c[] = {{"public", "A"}}; /* case matters */
    assert_false(select1(c, 1, NULL, 0, NULL, 0, &sel, &err));
    lbErrorClear(&err);
    PgTocName s[] = {{"s3", NULL}};
    assert_false(select1(NULL, 0, s, 1, NULL, 0, &sel, &err));
    assert_non_null(strstr(err.msg, "schema 's3' is not in"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testParse),         cmocka_unit_test(testNames),     cmocka_unit_test(testOneTable),
        cmocka_unit_test(testNameWithSpace), cmocka_unit_test(testTwoTables), cmocka_unit_test(testSchema),
        cmocka_unit_test(testNotFound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
