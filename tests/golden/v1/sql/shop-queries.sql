-- Run with psql -X -A -t on the restored copy of shop; the output must equal shop.out.
SELECT id, name, email, born, address, prefs, tags FROM customers ORDER BY id;
SELECT count(*), sum(total), sum(cents), min(placed), max(placed), count(ship_within), count(paid), count(*) FILTER (WHERE paid) FROM orders;
SELECT state, count(*), sum(total) FROM orders GROUP BY state ORDER BY state;
SELECT md5(string_agg(o::text, E'\n' ORDER BY id)) FROM orders o;
SELECT * FROM orders WHERE id IN (1, 2, 3, 2999, 3000) ORDER BY id;
SELECT * FROM customer_totals ORDER BY name;
SELECT order_count(2);
SELECT obj_description('orders'::regclass, 'pg_class');
SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename;
SELECT enum_range(NULL::order_state);
SELECT last_value FROM orders_id_seq;
