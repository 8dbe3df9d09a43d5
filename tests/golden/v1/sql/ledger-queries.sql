-- Run with psql -X -A -t on the recovered cluster; the output must equal ledger.out.
SELECT batch, count(*), sum(amount), min(id), max(id) FROM ledger GROUP BY batch ORDER BY batch;
SELECT md5(string_agg(l::text, E'\n' ORDER BY id)) FROM ledger l;
SELECT pg_is_in_recovery();
