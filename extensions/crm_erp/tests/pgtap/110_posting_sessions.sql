-- Posting with real commits and two sessions (dblink into a scratch database): items added
-- after their sale committed, unbalanced sales at COMMIT, stock that must not go negative
-- across sessions, and a rule changed by another session.
BEGIN;
SELECT plan(9);
\set scratch_prefix crm_erp_posting_sessions_
\ir ../../../crm_core/tests/pgtap/lib/scratch.sql

SELECT dblink_connect('s1', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_connect('s2', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('s1', $$
    CREATE EXTENSION crm_erp CASCADE;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'Duka'), (2, 'Maji');
    SELECT erp.setup_business(1, 'retail');
    SELECT erp.setup_business(2, 'water');
    SELECT retail.add_product(1, 'SOAP', 'Soap', 50);
    SELECT water.add_size(2, '20L', 20, 100);
    CREATE FUNCTION pg_temp.soap() RETURNS bigint LANGUAGE sql AS 'SELECT item_id FROM retail.product WHERE sku = ''SOAP''';
    CREATE FUNCTION pg_temp.w20() RETURNS bigint LANGUAGE sql AS 'SELECT item_id FROM water.product_size WHERE code = ''20L''';
    INSERT INTO retail.stock_receipt (business_id, item_id, quantity) VALUES (1, pg_temp.soap(), 5);
    INSERT INTO water.production (business_id, product_size_id, quantity, raw_water_liters) VALUES (2, pg_temp.w20(), 10, 0);
    INSERT INTO retail.sale (business_id, id, total_amount) VALUES (1, 1, 50);
    INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
    VALUES (1, 1, pg_temp.soap(), 1, 50, 50)$$);
SELECT dblink_exec('s2', $$
    CREATE FUNCTION pg_temp.soap() RETURNS bigint LANGUAGE sql AS 'SELECT item_id FROM retail.product WHERE sku = ''SOAP'''$$);
SELECT is(pg_temp.q('s1', 'SELECT on_hand FROM erp.stock_on_hand WHERE code = ''soap'''), '4', 'fixture: four soaps in stock');

SELECT throws_ok($$SELECT dblink_exec('s1', 'INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
                                              VALUES (1, 1, pg_temp.soap(), 1, 50, 50)')$$,
                 '55000', 'retail.sale_item 2: its sale 1 was posted by an earlier transaction; its entry takes no more lines',
                 'an item added after its sale committed is refused');
SELECT throws_ok($$SELECT dblink_exec('s1', 'BEGIN;
    INSERT INTO retail.sale (business_id, id, total_amount) VALUES (1, 2, 100);
    INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total) VALUES (1, 2, pg_temp.soap(), 1, 50, 50);
    COMMIT')$$, '23514', NULL, 'a sale whose items do not add up fails at COMMIT');
SELECT dblink_exec('s1', 'ROLLBACK');
SELECT is(pg_temp.q('s1', 'SELECT count(*) FROM retail.sale WHERE id = 2'), '0', 'and nothing of it is kept');

-- Four soaps left; two sessions each sell three. The first to commit wins; the second fails
-- at COMMIT (the stock account's overdraft rule) and keeps nothing.
SELECT dblink_exec('s1', 'BEGIN');
SELECT dblink_exec('s2', 'BEGIN');
SELECT dblink_exec('s1', 'INSERT INTO retail.sale (business_id, id, total_amount) VALUES (1, 3, 150);
    INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total) VALUES (1, 3, pg_temp.soap(), 3, 50, 150)');
SELECT dblink_exec('s2', 'INSERT INTO retail.sale (business_id, id, total_amount) VALUES (1, 4, 150);
    INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total) VALUES (1, 4, pg_temp.soap(), 3, 50, 150)');
SELECT lives_ok($$SELECT dblink_exec('s1', 'COMMIT')$$, 'the first sale of the last soaps commits');
SELECT throws_like($$SELECT dblink_exec('s2', 'COMMIT')$$,
                 'account STK:soap (id %) would have credits 7 exceeding debits 5',
                 'the second would take stock below zero: refused at COMMIT');
SELECT is(pg_temp.q('s1', 'SELECT on_hand FROM erp.stock_on_hand WHERE code = ''soap'''), '1',
          'stock on hand is what the committed movements leave');

-- A rule changed and committed by another session applies to this session's next event.
SELECT dblink_exec('s1', $$INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount)
                           VALUES (2, pg_temp.w20(), 1, 100, 100)$$);
SELECT dblink_exec('s2', $$UPDATE erp.posting_rule SET account_id = erp.account_of(2, 'mpesa')
                           WHERE business_id = 2 AND transaction_type = 'water_sale' AND line_no = 1$$);
SELECT dblink_exec('s1', $$INSERT INTO water.sale (business_id, product_size_id, quantity, unit_price, total_amount)
                           VALUES (2, pg_temp.w20(), 1, 100, 100)$$);
SELECT is(pg_temp.q('s1', $$SELECT string_agg(a.code, ',' ORDER BY s.id) FROM water.sale s
                              JOIN crm_core.journal_line l ON l.business_id = s.business_id AND l.entry_id = s.entry_id
                              JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
                             WHERE s.business_id = 2 AND l.debit IS NOT NULL AND a.currency = 'KES'$$),
          '1170,1180', 'the session''s cached rules follow the other session''s committed change');
SELECT is(pg_temp.q('s1', 'SELECT count(*) FROM crm_core.check_balances()'), '0',
          'kept balances equal the committed lines');

SELECT dblink_disconnect('s1');
SELECT dblink_disconnect('s2');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
