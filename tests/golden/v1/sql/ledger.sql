-- The physical backup's data (tests/golden/make.sh): batch 1 before the base
-- backup, batches 2 and 3 after it (only in the archived WAL).
CREATE TABLE ledger (id serial PRIMARY KEY, batch int NOT NULL, amount numeric NOT NULL, memo text);
INSERT INTO ledger (batch, amount, memo) SELECT 1, g * 1.5, 'before the base backup ' || g FROM generate_series(1, 500) g;
