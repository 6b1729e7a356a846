-- The same balance by account id alone, crm_core.account_balance(id) (every shard on the
-- cluster: the tenant is not in the query).
\set b random(1, 64)
\set x random(1, 20)
SELECT crm_core.account_balance(:b * 100 + :x);
