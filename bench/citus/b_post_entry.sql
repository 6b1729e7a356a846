-- The same posting through crm_core.post_entry(), one statement.
\set b random(1, 64)
\set x random(1, 20)
\set y random(1, 20)
\set amount random(1, 100000)
SELECT crm_core.post_entry(:b::bigint, jsonb_build_array(
    jsonb_build_object('account_id', :b::bigint * 100 + :x, 'debit', :amount::numeric),
    jsonb_build_object('account_id', :b::bigint * 100 + :y, 'credit', :amount::numeric)));
