-- Business settings, tills, roles and access, and setting a business up: what is written,
-- idempotence, and every refusal with its SQLSTATE and message.
BEGIN;
SELECT plan(23);
INSERT INTO crm_core.business (id, name) VALUES (7001, 'Maji Safi Water'), (7009, 'Not set up');

SELECT lives_ok($$SELECT erp.setup_business(7001, 'water')$$, 'a water business is set up');
SELECT lives_ok($$SELECT erp.setup_business(7001, 'water')$$, 'setting it up again changes nothing');
SELECT results_eq($$SELECT kind, currency, country, time_zone FROM erp.business_settings WHERE business_id = 7001$$,
                  $$VALUES ('water', 'KES', 'KE', 'Africa/Nairobi')$$, 'its settings have the defaults');
SELECT results_eq($$SELECT code FROM crm_core.account WHERE business_id = 7001 AND currency = 'KES' ORDER BY code$$,
                  $$VALUES ('1170'), ('1180'), ('1200'), ('2100'), ('3000'), ('4100'), ('5200'), ('6000')$$,
                  'its chart of accounts follows seed 002''s codes, once');
SELECT results_eq($$SELECT code FROM erp.transaction_type WHERE business_id = 7001 ORDER BY code$$,
                  $$VALUES ('water_production'), ('water_raw_intake'), ('water_sale')$$,
                  'its transaction types are defined');
SELECT is((SELECT count(*)::int FROM erp.posting_rule WHERE business_id = 7001 AND transaction_type = 'water_sale'), 6,
          'with their rule lines, once');
SELECT is((SELECT rule_version FROM erp.transaction_type WHERE business_id = 7001 AND code = 'water_sale'), 1,
          'a type defined with its lines starts at version 1');
SELECT results_eq($$SELECT code FROM erp.role WHERE business_id = 7001 ORDER BY code$$,
                  $$VALUES ('attendant'), ('cashier'), ('manager'), ('owner')$$, 'the default roles exist');
SELECT throws_ok($$SELECT erp.setup_business(7001, 'laundry')$$,
                 '55000', 'business 7001 is set up as another kind of business', 'a business has one kind');
SELECT throws_ok($$SELECT erp.setup_business(7009, 'bakery')$$,
                 '22023', 'business kind ''bakery'' is not water, laundry or retail', 'an unknown kind is refused');
SELECT throws_ok($$SELECT erp.setup_business(424242, 'water')$$,
                 '23503', 'business 424242 does not exist', 'an unknown business is refused');
SELECT throws_ok($$UPDATE erp.business_settings SET time_zone = 'Mars/Olympus' WHERE business_id = 7001$$,
                 '23514', 'new row for relation "business_settings" violates check constraint "business_settings_time_zone_known"',
                 'an unknown time zone is refused');
SELECT throws_ok($$UPDATE erp.business_settings SET country = 'XX' WHERE business_id = 7001$$,
                 '23514', 'new row for relation "business_settings" violates check constraint "business_settings_country_known"',
                 'a country whose phone numbers libphonenumber cannot read is refused');
SELECT throws_ok($$UPDATE erp.business_settings SET tax_rate = 1.6 WHERE business_id = 7001$$,
                 '23514', 'new row for relation "business_settings" violates check constraint "business_settings_tax_rate_range"',
                 'a tax rate is a fraction');

-- Tills.
SELECT lives_ok($$INSERT INTO erp.till (business_id, kind, number, name, account_id)
                  VALUES (7001, 'mpesa_till', '512345', 'Shop till', erp.account_of(7001, 'mpesa'))$$,
                'an M-Pesa till lands its money in the M-Pesa account');
SELECT throws_ok($$INSERT INTO erp.till (business_id, kind, number, name, account_id)
                   VALUES (7001, 'mpesa_till', '12-34', 'Bad', erp.account_of(7001, 'mpesa'))$$,
                 '23514', 'new row for relation "till" violates check constraint "till_number_valid"',
                 'an M-Pesa till number is 5 to 7 digits');
SELECT throws_ok($$INSERT INTO erp.till (business_id, kind, number, name, account_id)
                   VALUES (7001, 'mpesa_till', '512345', 'Again', erp.account_of(7001, 'mpesa'))$$,
                 '23505', 'duplicate key value violates unique constraint "till_number_unique"',
                 'a till number is registered once');
SELECT throws_ok($$INSERT INTO erp.till (business_id, kind, number, name, account_id)
                   VALUES (7001, 'cash_drawer', 'DRAWER-1', 'Drawer', erp.account_of(7001, 'sales'))$$,
                 '23514', 'till DRAWER-1 cannot land its money in account 4100 (income in KES)',
                 'a till''s account is an asset in the business currency');

-- Access: a login works in a business with one of its roles.
CREATE ROLE erp_test_cashier NOLOGIN;
SELECT lives_ok($$SELECT erp.grant_access('erp_test_cashier', 7001, 'cashier')$$, 'a login is given access as cashier');
SELECT is((SELECT login::text || ':' || role_code FROM erp.business_access WHERE business_id = 7001),
          'erp_test_cashier:cashier', 'the access is recorded');
SELECT throws_ok($$SELECT erp.grant_access('erp_test_cashier', 7001, 'chef')$$,
                 '23503', 'business 7001 has no role chef', 'an unknown role is refused');
SELECT lives_ok($$SELECT erp.revoke_access('erp_test_cashier', 7001)$$, 'access is taken back');
SELECT is_empty($$SELECT * FROM erp.business_access WHERE business_id = 7001$$, 'and its record is gone');

SELECT * FROM finish();
ROLLBACK;
