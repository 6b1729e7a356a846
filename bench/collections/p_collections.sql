-- A payment of 640 on the next fresh debt: five installments, four components (the debt stays open).
INSERT INTO collections.payment (business_id, debt_account_id, reference, amount)
VALUES (1, nextval('bench.next_debt'), 'C-' || txid_current(), 640);
