-- Posting with real commits (dblink into a scratch database): items added after their sale
-- committed, unbalanced sales at COMMIT. Two sessions at once: tests/isolation/specs/erp_sessions.spec.
BEGIN;
SELECT plan(5);
\set scratch_prefix crm_erp_posting_sessions_
\ir ../../../crm_core/tests/pgtap/lib/scratch.sql

SELECT dblink_connect('s1', pg_temp.connstr(pg_temp.scratch()));
SELECT dblink_exec('s1', $$
    CREATE EXTENSION crm_erp CASCADE;
    INSERT INTO crm_core.business (id, name) VALUES (1, 'Duka');
    SELECT erp.setup_business(1, 'retail');
    SELECT retail.add_product(1, 'SOAP', 'Soap', 50);
    CREATE FUNCTION pg_temp.soap() RETURNS bigint LANGUAGE sql AS 'SELECT item_id FROM retail.product WHERE sku = ''SOAP''';
    INSERT INTO retail.stock_receipt (business_id, item_id, quantity) VALUES (1, pg_temp.soap(), 5);
    INSERT INTO retail.sale (business_id, id, total_amount) VALUES (1, 1, 50);
    INSERT INTO retail.sale_item (business_id, sale_id, product_id, quantity, unit_price, line_total)
    VALUES (1, 1, pg_temp.soap(), 1, 50, 50)$$);
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

-- Two sessions selling the last soaps, and a rule changed by another session:
-- tests/isolation/specs/erp_sessions.spec.

SELECT is(pg_temp.q('s1', 'SELECT count(*) FROM crm_core.check_balances()'), '0',
          'kept balances equal the committed lines');

SELECT dblink_disconnect('s1');
SELECT dblink_exec(pg_temp.connstr('postgres'), format('DROP DATABASE %I WITH (FORCE)', pg_temp.scratch()));

SELECT * FROM finish();
ROLLBACK;
