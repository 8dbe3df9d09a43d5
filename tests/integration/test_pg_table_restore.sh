#!/usr/bin/env bash
# test_pg_table_restore.sh - `restore --pg-target --table/--schema` against a
# real server (tests/harness/pg): a 20-table database (indexes, a foreign key
# between two tables, a mixed-case name with a space that begins like another
# table's name, a second schema) is dumped with `backup --pg`; one table is
# restored into a new database (identical rows, its index, no other table,
# the foreign key to a table not restored left out with a warning); two
# tables bring their foreign key; a schema brings its tables and nothing
# else; a dropped table restored into the live database gets back the
# foreign key that referred to it; a name the dump lacks fails naming it and
# creates nothing.
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
PGDIR=$TMP/pg

start_pg "$PGDIR" pg_dump pg_restore
URL="postgresql://postgres@127.0.0.1:$PGPORT"

sql() { # db sql...: run statements, print unaligned tuples
    local db=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}
rows() { # db table order-by: the table's rows as COPY writes them
    sql "$1" -c "COPY (SELECT * FROM $2 ORDER BY $3) TO STDOUT"
}
same_rows() { # db1 db2 table order-by
    rows "$1" "$3" "$4" >"$TMP/rows-a" && rows "$2" "$3" "$4" >"$TMP/rows-b" && [ -s "$TMP/rows-a" ] &&
        cmp -s "$TMP/rows-a" "$TMP/rows-b"
}
user_tables() { # db: schema.table of every user table, sorted, one line
    sql "$1" -c "SELECT string_agg(schemaname || '.' || tablename, ' ' ORDER BY schemaname, tablename)
                 FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
}
has_index() { # db index-name
    [ "$(sql "$1" -c "SELECT count(*) FROM pg_indexes WHERE indexname = '$2'")" = 1 ]
}
has_fk() { # db constraint-name
    [ "$(sql "$1" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conname = '$2'")" = 1 ]
}
not() { ! "$@"; }
db_exists() { [ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }

# ---------------------------------------------------------------- the data
check "init repository" new_repo "$REPO"
check "create database shop" createdb shop
cat >"$TMP/shop.sql" <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id),
                     placed date NOT NULL, total numeric(10,2));
CREATE INDEX orders_placed_idx ON orders (placed);
-- mixed case, a space, and a name that begins with another table's name
CREATE TABLE "orders Log" (id int PRIMARY KEY, "Note" text, at timestamptz);
CREATE INDEX "orders Log at" ON "orders Log" (at);
CREATE SCHEMA archive;
CREATE TABLE archive.old_orders (id int PRIMARY KEY, total numeric(10,2));
CREATE TABLE archive.notes (id int PRIMARY KEY, order_id int REFERENCES archive.old_orders(id), body text);
CREATE INDEX notes_body_idx ON archive.notes (body);
INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 300) g;
INSERT INTO orders (customer_id, placed, total)
SELECT 1 + g % 300, date '2026-01-01' + g % 200, (g * 7 % 1000) / 10.0 FROM generate_series(1, 2000) g;
INSERT INTO "orders Log" SELECT g, 'note ' || g || E'\twith a tab', timestamptz '2026-01-01 00:00+00' + g * interval '1 min'
FROM generate_series(1, 500) g;
INSERT INTO archive.old_orders SELECT g, g / 3.0 FROM generate_series(1, 400) g;
INSERT INTO archive.notes SELECT g, 1 + g % 400, 'archived ' || g FROM generate_series(1, 250) g;
SQL
for i in $(seq -w 1 15); do # 15 more tables, every other one with an index
    echo "CREATE TABLE t$i (id int PRIMARY KEY, v text);"
    echo "INSERT INTO t$i SELECT g, md5((g * $i)::text) FROM generate_series(1, 50) g;"
    [ $((10#$i % 2)) = 1 ] && echo "CREATE INDEX t${i}_v_idx ON t$i (v);"
done >>"$TMP/shop.sql"
check "load 20 tables in two schemas" sql shop -f "$TMP/shop.sql"
check "the source has 20 tables" test "$(sql shop -c "SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'archive')")" = 20

check_rc 0 "backup --pg" "$LB" -r "$REPO" backup --pg "$URL/shop"
snap=$("$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"][:8])')

# ---------------------------------------------------------------- one table into a new database
check_rc 0 "restore --table public.orders --create --verify" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/only_orders" --create --table public.orders --verify
last_output >"$TMP/one.out"
check "orders is identical" same_rows shop only_orders orders id
check "orders' index is there" has_index only_orders orders_placed_idx
check "orders' primary key is there" has_index only_orders orders_pkey
check "no other table is there (not customers, not \"orders Log\")" test "$(user_tables only_orders)" = public.orders
check "the sequence of orders.id is restored with its value" \
    test "$(sql only_orders -c "SELECT last_value FROM orders_id_seq")" = 2000
check "the foreign key to customers (not restored) is left out" not has_fk only_orders orders_customer_id_fkey
check "a warning names the foreign key left out and the table it needs" \
    grep -q "left out FK CONSTRAINT public orders orders_customer_id_fkey: it needs TABLE public customers" "$TMP/one.out"
check "the row count of orders was verified" grep -q "verified the row counts of 1 tables" "$TMP/one.out"

check_rc 0 "restore --table 'public.\"orders Log\"' --create" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/only_log" --create --table 'public."orders Log"'
check "\"orders Log\" is identical" same_rows shop only_log '"orders Log"' id
check "its index \"orders Log at\" is there" has_index only_log "orders Log at"
check "no other table is there (not orders)" test "$(user_tables only_log)" = "public.orders Log"

check_rc 0 "restore --table public.customers --table public.orders --create --verify" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/two" --create --table public.customers --table public.orders --verify
last_output >"$TMP/two.out"
check "both tables, and only they, are there" test "$(user_tables two)" = "public.customers public.orders"
check "customers is identical" same_rows shop two customers id
check "the foreign key between them is restored" has_fk two orders_customer_id_fkey
check "no foreign key was left out" bash -c "! grep -q 'left out' '$TMP/two.out'"
check "the row counts of 2 tables were verified" grep -q "verified the row counts of 2 tables" "$TMP/two.out"

# ---------------------------------------------------------------- a schema into a new database
check_rc 0 "restore --schema archive --create --verify" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/only_archive" --create --schema archive --verify
last_output >"$TMP/schema.out"
check "the schema's two tables, and only they, are there" \
    test "$(user_tables only_archive)" = "archive.notes archive.old_orders"
check "archive.old_orders is identical" same_rows shop only_archive archive.old_orders id
check "archive.notes is identical" same_rows shop only_archive archive.notes id
check "the foreign key inside the schema is restored" has_fk only_archive notes_order_id_fkey
check "archive.notes' index is there" has_index only_archive notes_body_idx
check "the row counts of 2 tables were verified" grep -q "verified the row counts of 2 tables" "$TMP/schema.out"

# ---------------------------------------------------------------- unknown names: nothing is created
check_rc 1 "restore --table public.nosuch --create fails" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/bad_table" --create --table public.orders --table public.nosuch
last_output >"$TMP/err.out"
check "the error names the table and the snapshot" \
    grep -q "table 'public.nosuch' is not in snapshot $snap's dump" "$TMP/err.out"
check "no database was created" not db_exists bad_table
check_rc 1 "restore --schema nosuch --create fails" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/bad_schema" --create --schema nosuch
last_output >"$TMP/err.out"
check "the error names the schema" grep -q "schema 'nosuch' is not in snapshot $snap's dump" "$TMP/err.out"
check "no database was created" not db_exists bad_schema
check_rc 1 "restore --table orders (no schema) is refused" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/bad_name" --create --table orders
last_output >"$TMP/err.out"
check "the error says SCHEMA.TABLE" grep -q "'orders' is not SCHEMA.TABLE" "$TMP/err.out"
check_rc 1 "restore --table public.Orders (case matters) fails" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/bad_case" --create --table public.Orders
check "no database was created for either" not eval "db_exists bad_name || db_exists bad_case"

# ---------------------------------------------------------------- a dropped table back into the live database
rows shop customers id >"$TMP/customers-before"
check "drop customers (and the foreign key of orders) in shop" sql shop -c "DROP TABLE customers CASCADE"
check "the foreign key is gone" not has_fk shop orders_customer_id_fkey
check_rc 0 "restore --table public.customers into shop" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/shop" --table public.customers
check "customers is back as it was" eval "rows shop customers id | cmp -s - '$TMP/customers-before'"
check "the foreign key of orders (a table the target has) is back" has_fk shop orders_customer_id_fkey
check "orders was not touched" test "$(sql shop -c "SELECT count(*) FROM orders")" = 2000

finish
