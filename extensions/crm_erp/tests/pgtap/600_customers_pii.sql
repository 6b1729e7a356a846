-- Customer phone numbers and national ids at rest: encrypted with pgcrypto under a key that
-- only the session holds (erp.pii_key), found by keyed hash, never stored in clear.
BEGIN;
SELECT plan(23);
INSERT INTO crm_core.business (id, name) VALUES (7002, 'Clean Press Laundry');
SELECT erp.setup_business(7002, 'laundry');

SELECT throws_ok($$INSERT INTO erp.customer_pii (business_id, name, phone) VALUES (7002, 'Amina', '0712 345 678')$$,
                 '55000', 'erp.pii_key is not set: customer phone numbers and national ids are encrypted',
                 'without the key nothing is written');
SET LOCAL erp.pii_key = 'short';
SELECT throws_ok($$INSERT INTO erp.customer_pii (business_id, name, phone) VALUES (7002, 'Amina', '0712 345 678')$$,
                 '22023', 'erp.pii_key is too short (5 characters): give at least 32', 'a short key is refused');
SET LOCAL erp.pii_key = 'k3y-for-tests-0123456789abcdef-0123456789';

INSERT INTO erp.customer_pii (business_id, id, name, phone, national_id)
VALUES (7002, 1, 'Amina', '0712 345 678', 'ab-123 456');
INSERT INTO erp.customer_pii (business_id, name, phone) VALUES (7002, 'Brian', '+254 722 000111');
SELECT results_eq($$SELECT name, phone, national_id FROM erp.customer_pii ORDER BY id$$,
                  $$VALUES ('Amina', '+254712345678', 'AB123456'), ('Brian', '+254722000111', NULL)$$,
                  'read back in clear, normalised (E.164, national id without punctuation)');
SELECT ok((SELECT position(convert_to('712345678', 'UTF8') IN phone_cipher) = 0
                  AND position(convert_to('AB123456', 'UTF8') IN national_id_cipher) = 0
             FROM erp.customer WHERE id = 1), 'the table holds no clear text');
SELECT ok((SELECT phone_cipher <> (SELECT phone_cipher FROM erp.customer WHERE id = 1)
             FROM (SELECT erp.pii_encrypt('+254712345678') AS phone_cipher) AS again),
          'encrypting twice gives different ciphertexts (salted)');
SELECT is((SELECT length(phone_hash) FROM erp.customer WHERE id = 1), 32, 'the lookup key is a 32-byte HMAC');
SELECT results_eq($$SELECT erp.find_customers(7002, phone => '0712345678')$$, $$VALUES (1::bigint)$$,
                  'a customer is found by phone, written another way');
SELECT results_eq($$SELECT erp.find_customers(7002, national_id => 'AB 123-456')$$, $$VALUES (1::bigint)$$,
                  'and by national id');
SELECT is_empty($$SELECT erp.find_customers(7002, phone => '0799999999')$$, 'an unknown phone finds nobody');
SELECT throws_ok($$INSERT INTO erp.customer_pii (business_id, name, phone) VALUES (7002, 'Amina again', '+254712345678')$$,
                 '23505', 'duplicate key value violates unique constraint "customer_phone_unique"',
                 'one customer per phone number in a business');
UPDATE erp.customer_pii SET phone = '0733 111 222' WHERE id = 1;
SELECT results_eq($$SELECT erp.find_customers(7002, phone => '+254733111222')$$, $$VALUES (1::bigint)$$,
                  'an update through the view re-encrypts and re-hashes');
SELECT is((SELECT phone FROM erp.customer_pii WHERE id = 1), '+254733111222', 'and reads back');

-- Another key: the hash finds nothing, the ciphertext does not open.
SET LOCAL erp.pii_key = 'another-key-entirely-0123456789abcdef012';
SELECT is_empty($$SELECT erp.find_customers(7002, phone => '+254733111222')$$,
                'under another key the keyed hash finds nobody');
SELECT throws_ok($$SELECT phone FROM erp.customer_pii WHERE id = 1$$, '39000', 'Wrong key or corrupt data',
                 'under another key nothing decrypts');

-- Rotating the key: everything readable and findable under the new one only.
SET LOCAL erp.pii_key = 'k3y-for-tests-0123456789abcdef-0123456789';
SELECT is(erp.rotate_pii_key('k3y-for-tests-0123456789abcdef-0123456789', 'rotated-key-0123456789abcdef-0123456789'),
          2::bigint, 'rotating the key re-encrypts every customer');
SET LOCAL erp.pii_key = 'rotated-key-0123456789abcdef-0123456789';
SELECT results_eq($$SELECT erp.find_customers(7002, phone => '0733111222')$$, $$VALUES (1::bigint)$$,
                  'under the new key the customer is found');
SELECT is((SELECT national_id FROM erp.customer_pii WHERE id = 1), 'AB123456', 'and decrypted');
SELECT erp.rotate_pii_key('rotated-key-0123456789abcdef-0123456789', 'k3y-for-tests-0123456789abcdef-0123456789');

-- A reader without the key or the right to use it sees ciphertext only.
SET LOCAL erp.pii_key = 'k3y-for-tests-0123456789abcdef-0123456789';
CREATE ROLE erp_test_reader IN ROLE crm_core_readonly;
SELECT crm_core.grant_business('erp_test_reader', 7002);
SET LOCAL ROLE erp_test_reader;
SET LOCAL crm_core.business_id = '7002';
SELECT ok((SELECT phone_cipher IS NOT NULL FROM erp.customer WHERE id = 1), 'the read-only role sees the ciphertext');
SELECT throws_ok($$SELECT phone FROM erp.customer_pii WHERE id = 1$$, '42501', 'permission denied for function pii_decrypt',
                 'but cannot decrypt even when the session holds the key');
RESET ROLE;
SELECT throws_ok($$INSERT INTO erp.customer_pii (business_id, name, phone) VALUES (7002, 'Cyrus', 'not a phone')$$,
                 '22023', 'phone "not a phone" is not a phone number: it is not a phone number',
                 'a phone that is not one is refused');
SELECT throws_ok($$INSERT INTO erp.customer_pii (business_id, name, phone) VALUES (7002, 'Cyrus', '0712')$$,
                 '22023', 'phone "0712" is not a phone number: it is too short for its country',
                 'a phone too short for the business''s country is refused');
SELECT is(erp.normalize_phone('  ', 'KE'), NULL, 'a blank phone is no phone');
SELECT throws_ok($$SELECT erp.normalize_phone('0712 345 678', 'XX')$$,
                 '22023', 'country "XX" is not an ISO 3166 country code libphonenumber knows',
                 'a region libphonenumber does not know is refused');

SELECT * FROM finish();
ROLLBACK;
