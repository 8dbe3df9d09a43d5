-- The database of the logical dump (tests/golden/make.sh). Owned by the role
-- golden_owner, so that the dump's globals.sql matters on restore.
CREATE ROLE golden_owner LOGIN;
CREATE DATABASE shop OWNER golden_owner TEMPLATE template0 ENCODING 'UTF8' STRATEGY FILE_COPY;
\connect shop
SET ROLE golden_owner;
CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE DOMAIN positive_cents AS bigint CHECK (VALUE > 0);
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text UNIQUE,
    born date,
    address inet,
    prefs jsonb NOT NULL DEFAULT '{}',
    tags text[]
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer int NOT NULL REFERENCES customers(id),
    state order_state NOT NULL DEFAULT 'new',
    total numeric(12, 2) NOT NULL,
    cents positive_cents,
    placed timestamptz NOT NULL,
    ship_within interval,
    token uuid,
    paid boolean,
    note text,
    blob bytea
);
CREATE INDEX orders_placed ON orders (placed);
COMMENT ON TABLE orders IS 'golden orders ✓';
INSERT INTO customers (name, email, born, address, prefs, tags) VALUES
    ('Ada Lovelace', 'ada@example.org', '1815-12-10', '10.0.0.1', '{"lang": "en", "vip": true}', '{math,engines}'),
    ('Jürgen Größe', 'jg@example.de', '1970-01-01', '2001:db8::1', '{"lang": "de"}', '{}'),
    ('名前 テスト', NULL, NULL, NULL, '{"nested": {"a": [1, 2, 3]}}', NULL),
    ('Tab	and
newline', 'ctl@example.com', '2000-02-29', '192.168.1.0/24', '{}', '{"with space","quote\"d"}');
INSERT INTO orders (customer, state, total, cents, placed, ship_within, token, paid, note, blob)
SELECT 1 + g % 4,
       (ARRAY['new', 'paid', 'shipped', 'cancelled']::order_state[])[1 + g % 4],
       round((g * 7.31)::numeric, 2),
       g * 731,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '37 minutes',
       CASE WHEN g % 3 = 0 THEN NULL ELSE g * interval '1 hour' END,
       md5(g::text)::uuid,
       CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false END,
       repeat('order note ' || g || ' ', 1 + g % 5),
       decode(md5(g::text), 'hex')
FROM generate_series(1, 3000) g;
CREATE VIEW customer_totals AS
    SELECT c.name, count(o.id) AS orders, sum(o.total) AS total
    FROM customers c LEFT JOIN orders o ON o.customer = c.id GROUP BY c.name;
CREATE FUNCTION order_count(c int) RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT count(*) FROM orders WHERE customer = c';
