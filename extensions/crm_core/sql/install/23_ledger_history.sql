-- crm_core ledger history: the journal tables made append-only, and the sealed blocks (tamper
-- evidence). The seal functions: 19_seal_functions.sql.

-- ---------------------------------------------------------------------------------------
-- The ledger: its guards (crm_core_guard_posted, crm_core_guard_replica_insert, 10_ledger.sql)
-- become ENABLE ALWAYS here.
INSERT INTO crm_core.append_only_table (relid)
VALUES ('crm_core.journal_entry'), ('crm_core.journal_line');
SELECT crm_core.apply_append_only_guards('crm_core.journal_entry', NULL);
SELECT crm_core.apply_append_only_guards('crm_core.journal_line', NULL);

-- ---------------------------------------------------------------------------------------
-- Sealed blocks: tamper evidence for what even a superuser can do.

-- One block per business and number: the hash of the previous block and of its rows.
CREATE TABLE crm_core.ledger_block (
    business_id    bigint      NOT NULL REFERENCES crm_core.business (id),
    block_no       bigint      NOT NULL CHECK (block_no > 0),
    previous_hash  bytea       NOT NULL CHECK (length(previous_hash) = 32),
    block_hash     bytea       NOT NULL CHECK (length(block_hash) = 32),
    entries        integer     NOT NULL,
    lines          integer     NOT NULL,
    first_entry_id bigint      NOT NULL,
    last_entry_id  bigint      NOT NULL,
    horizon        xid8        NOT NULL,
    sealed_at      timestamptz NOT NULL DEFAULT now(),
    -- The login that ran seal_ledger (a SECURITY DEFINER function: current_user is its owner).
    sealed_by      name        NOT NULL DEFAULT session_user,
    PRIMARY KEY (business_id, block_no)
);
COMMENT ON TABLE crm_core.ledger_block IS
    'Hash chain per business: block_hash = SHA-256 over previous_hash and the rows sealed in it '
    '(crm_core.ledger_sealed_entry). horizon: rows written by transactions older than it were sealable.';

-- Which entries each block holds, in block order, with the hashes of the entry and of each of
-- its lines (in line id order) at sealing time: one row per entry keeps sealing cheap.
CREATE TABLE crm_core.ledger_sealed_entry (
    business_id bigint   NOT NULL,
    block_no    bigint   NOT NULL,
    position    integer  NOT NULL,
    entry_id    bigint   NOT NULL,
    entry_hash  bytea    NOT NULL CHECK (length(entry_hash) = 32),
    line_ids    bigint[] NOT NULL,
    line_hashes bytea    NOT NULL CHECK (length(line_hashes) = 32 * cardinality(line_ids)),
    PRIMARY KEY (business_id, entry_id),
    UNIQUE (business_id, block_no, position)
);
-- No foreign key to ledger_block: seal_ledger writes a block and its entries in one statement,
-- verify_ledger checks they match, and a per-row RI check would double the cost of sealing.
COMMENT ON TABLE crm_core.ledger_sealed_entry IS
    'Entries of each sealed block in order, with the SHA-256 of the entry and of each line '
    '(line_hashes: 32 bytes per id in line_ids).';

-- Where the next seal starts looking: every posted entry of the business not sealed yet was
-- posted by a transaction from scan_from on (posted_txid, stamped by the ledger). Keeps each
-- seal proportional to what is new, not to the whole ledger.
CREATE TABLE crm_core.seal_progress (
    business_id bigint      PRIMARY KEY REFERENCES crm_core.business (id),
    scan_from   xid8        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE crm_core.seal_progress IS
    'Per business: seal_ledger() scans posted entries with posted_txid >= scan_from.';
CREATE INDEX journal_entry_posted_txid_idx ON crm_core.journal_entry (business_id, posted_txid)
    WHERE status = 'posted';

SELECT crm_core.make_append_only('crm_core.ledger_block');
SELECT crm_core.make_append_only('crm_core.ledger_sealed_entry');
-- The chain is dumped with the ledger (restored verbatim, it verifies against a digest taken
-- before the dump). seal_progress is not: it only shortens the next scan, holds transaction
-- ids of the cluster that wrote it, and without it seal_ledger() scans every posted entry once.
SELECT pg_catalog.pg_extension_config_dump('crm_core.ledger_block', '');
SELECT pg_catalog.pg_extension_config_dump('crm_core.ledger_sealed_entry', '');

-- crm_core.seal_status: 25_seal_status.sql.
