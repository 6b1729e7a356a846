-- One account's balance, the tenant in the query (one shard on the cluster).
\set b random(1, 64)
\set x random(1, 20)
SELECT balance FROM crm_core.account_balances WHERE business_id = :b AND account_id = :b * 100 + :x;
