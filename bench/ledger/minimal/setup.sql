-- The minimal tables a user writes by hand (issue 15): bigserial ids, an account with a
-- balance column, an entry, a line with a CHECK and an index on entry_id. With no triggers
-- this is the physical limit; hand_plpgsql.sql adds the triggers a user writes.
CREATE SCHEMA bench;
CREATE TABLE bench.account (
    id      bigserial PRIMARY KEY,
    balance numeric NOT NULL DEFAULT 0
);
CREATE TABLE bench.entry (
    id bigserial PRIMARY KEY
);
CREATE TABLE bench.line (
    id         bigserial PRIMARY KEY,
    entry_id   bigint NOT NULL,
    account_id bigint NOT NULL,
    debit      numeric,
    credit     numeric,
    CHECK (COALESCE(debit, 0) >= 0 AND COALESCE(credit, 0) >= 0
           AND COALESCE(debit, 0) + COALESCE(credit, 0) > 0)
);
CREATE INDEX ON bench.line (entry_id);
INSERT INTO bench.account (id) SELECT i FROM generate_series(1, 1000) AS i;
SELECT setval('bench.account_id_seq', 1000);
