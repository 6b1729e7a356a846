-- Customers: phones in E.164 (national numbers read in the business's country), keyed
-- fingerprints that refuse duplicates and name the existing customer, find_or_create_customer,
-- risk flags that are history, income and expense profiles, audit of PII.
BEGIN;
SELECT plan(33);
\ir lib/fixture.sql

INSERT INTO collections.customer (business_id, id, full_name, phone, national_id, email)
VALUES (71, 7101, 'Jeanne Martin', '06 12 34 56 78', '1 85 05 78 006 084', 'jeanne@example.fr');
SELECT is((SELECT phone FROM collections.customer WHERE id = 7101), '+33612345678',
          'a national number is stored in E.164, read in the business''s country (FR)');
SELECT is((SELECT national_id FROM collections.customer WHERE id = 7101), '1 85 05 78 006 084',
          'the national id is kept as given');
SELECT is((SELECT length(fingerprint) FROM collections.customer WHERE id = 7101), 32,
          'the fingerprint is a 32-byte keyed hash');
SELECT isnt((SELECT fingerprint FROM collections.customer WHERE id = 7101),
            sha256(convert_to('+33612345678' || '1850578006084', 'UTF8')),
            'the fingerprint is not a plain hash of phone and id');
SELECT is((SELECT fingerprint FROM collections.customer WHERE id = 7101),
          collections.customer_fingerprint(71, '+33 6 12 34 56 78', '1850578006084'),
          'customer_fingerprint() gives the same fingerprint for the same person written otherwise');

INSERT INTO collections.customer (business_id, id, full_name, phone) VALUES (72, 7201, 'Ravi Kumar', '98765 43210');
SELECT is((SELECT phone FROM collections.customer WHERE id = 7201), '+919876543210',
          'business 72 reads national numbers as Indian');

-- Duplicates: refused with the existing customer named in the hint.
SELECT throws_ok($$INSERT INTO collections.customer (business_id, full_name, phone, national_id)
                   VALUES (71, 'J. Martin', '+33 6 12 34 56 78', '185057800 6084')$$,
                 '23505', 'customer with this phone and national id already exists in business 71',
                 'a second customer with the same phone and national id is refused');
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    message text; hint text; name text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT, name = CONSTRAINT_NAME;
    RETURN name || ' | ' || hint;
END $$;
SELECT is(pg_temp.error_of($$INSERT INTO collections.customer (business_id, full_name, phone, national_id)
                             VALUES (71, 'J. Martin', '0612345678', '1850578006084')$$),
          'customer_fingerprint_unique | Customer 7101 (Jeanne Martin) has them; use that id, or collections.find_or_create_customer(), which returns it.',
          'the hint names the existing customer; the constraint is customer_fingerprint_unique');
SELECT lives_ok($$INSERT INTO collections.customer (business_id, full_name, phone, national_id)
                  VALUES (72, 'Jeanne Martin', '+33 6 12 34 56 78', '1850578006084')$$,
                'the same person may be a customer of another business');
SELECT lives_ok($$INSERT INTO collections.customer (business_id, full_name, phone, national_id)
                  VALUES (71, 'Paul Martin', '+33 6 12 34 56 78', 'PM-1')$$,
                'the same phone with another national id is another customer');
SELECT throws_ok($$UPDATE collections.customer SET national_id = '185057800 6084' WHERE full_name = 'Paul Martin'$$,
                 '23505', 'customer with this phone and national id already exists in business 71',
                 'an update that makes a duplicate is refused too');

SELECT is(collections.find_or_create_customer(71, 'Jeanne M.', '06.12.34.56.78', '1850578006084'), 7101::bigint,
          'find_or_create_customer returns the existing customer');
SELECT is((SELECT full_name FROM collections.customer WHERE id = 7101), 'Jeanne Martin',
          'and leaves it as it was');
SELECT ok(collections.find_or_create_customer(71, 'Luc Petit', '07 11 22 33 44', 'LP-9') <> 7101,
          'find_or_create_customer creates a new customer');
SELECT is(collections.find_or_create_customer(71, 'Luc P.', '+33711223344', 'lp9'),
          (SELECT id FROM collections.customer WHERE full_name = 'Luc Petit'),
          'and finds it again the next time');
SELECT lives_ok($$INSERT INTO collections.customer (business_id, full_name) VALUES (71, 'No Contact'),
                  (71, 'No Contact Either')$$,
                'customers without phone and national id have no fingerprint and never collide');

-- Bad phones: clear errors, nothing stored.
SELECT throws_ok($$INSERT INTO collections.customer (business_id, full_name, phone) VALUES (71, 'X', '06 12')$$,
                 '22023', 'phone "06 12" is not a phone number: it is too short for its country',
                 'a phone too short for its country is refused');
SELECT throws_ok($$INSERT INTO collections.customer (business_id, full_name, phone) VALUES (71, 'X', 'call me')$$,
                 '22023', 'phone "call me" is not a phone number: it is not a phone number',
                 'text that is no phone number is refused');
SELECT throws_ok($$SELECT collections.normalize_phone('123', 'FR')$$, '22023',
                 'phone "123" is not a phone number: it is too short for its country',
                 'normalize_phone refuses the same way');
SELECT is(collections.normalize_phone('(202) 555-0143', 'US'), '+12025550143', 'normalize_phone');
SELECT throws_ok($$INSERT INTO collections.customer (business_id, full_name, phone) VALUES (73, 'X', '0612345678')$$,
                 NULL, NULL, 'a customer of an unknown business is refused');
INSERT INTO crm_core.business (id, name) VALUES (74, 'not set up');
SELECT throws_ok($$INSERT INTO collections.customer (business_id, full_name) VALUES (74, 'X')$$,
                 '55000', 'business 74 is not set up for collections',
                 'a customer of a business not set up for collections is refused');

-- The application cannot write the fingerprint.
SELECT pg_temp.as_app(71);
SELECT throws_ok($$UPDATE collections.customer SET fingerprint = NULL WHERE id = 7101$$, '42501', NULL,
                 'the application cannot set a fingerprint');
SELECT lives_ok($$UPDATE collections.customer SET email = 'j.martin@example.fr' WHERE id = 7101$$,
                'the application updates contact data');
RESET ROLE;

-- Risk flags: raised, cleared once, never edited or deleted.
INSERT INTO collections.risk_flag (business_id, id, customer_id, kind, severity, note)
VALUES (71, 7111, 7101, 'dispute', 'high', 'disputes the fees');
SELECT throws_ok($$INSERT INTO collections.risk_flag (business_id, customer_id, kind) VALUES (71, 7101, 'dispute')$$,
                 '23505', NULL, 'one open flag of a kind per customer');
SELECT throws_ok($$UPDATE collections.risk_flag SET severity = 'low' WHERE id = 7111$$, '55000',
                 'risk flag 7111 is history: a raised flag is only cleared, once', 'a raised flag is not edited');
UPDATE collections.risk_flag SET cleared_at = now(), cleared_by = 'agent7', cleared_note = 'settled' WHERE id = 7111;
SELECT throws_ok($$UPDATE collections.risk_flag SET cleared_note = 'other' WHERE id = 7111$$, '55000',
                 'risk flag 7111 is history: a raised flag is only cleared, once', 'a cleared flag is not edited');
SELECT throws_ok($$DELETE FROM collections.risk_flag WHERE id = 7111$$, '55000',
                 'risk flag 7111 is history: it is cleared, never deleted', 'a flag is never deleted');

INSERT INTO collections.income_expense_profile (business_id, customer_id, currency, monthly_income, monthly_expenses)
VALUES (71, 7101, 'EUR', 2100, 1650);
SELECT is((SELECT disposable_income FROM collections.income_expense_profile WHERE customer_id = 7101), 450::numeric,
          'income and expense profile: disposable income');

-- A new key: every fingerprint changes, duplicates are still found.
SELECT fingerprint AS old_print FROM collections.customer WHERE id = 7101 \gset
SELECT ok(collections.rotate_fingerprint_key() >= 3, 'rotate_fingerprint_key recomputes every fingerprint');
SELECT isnt((SELECT fingerprint FROM collections.customer WHERE id = 7101), :'old_print'::bytea,
            'under the new key');
SELECT is(collections.find_or_create_customer(71, 'Jeanne', '0612345678', '1850578006084'), 7101::bigint,
          'and the same person is still recognised');

-- PII changes are in the audit log.
SELECT ok(EXISTS (SELECT FROM crm_core.audit_log WHERE table_name = 'collections.customer' AND operation = 'UPDATE'
                    AND new_values ? 'email'),
          'a change of a customer''s email is audited');

SELECT * FROM finish();
ROLLBACK;
