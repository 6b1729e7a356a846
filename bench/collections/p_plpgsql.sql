-- The same payment through the PL/pgSQL implementation (plpgsql_allocation.sql).
SELECT plain.record_payment(1, nextval('bench.next_plain_debt'), 'P-' || txid_current(), 640);
