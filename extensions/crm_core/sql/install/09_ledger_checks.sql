-- crm_core ledger: the CHECK constraints of the journal tables (10_ledger.sql), as C functions
-- (extensions/crm_core/src/ledger_checks.cpp). All CREATE (new in 0.2.0): the upgrade from
-- 0.1.0 includes this part.

-- The rules of a journal row, one C function per table, in one CHECK constraint each:
-- PostgreSQL 15 reads and plans every CHECK expression of a table again for each statement
-- that writes it (about 16,000 instructions a constraint, more than inserting the row), so
-- each table has one, and its function names the rule a row breaks (SQLSTATE 23514).
CREATE FUNCTION crm_core.line_amount_valid(debit numeric, credit numeric) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_line_amount_valid' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_core.line_amount_valid(numeric, numeric) IS
    'CHECK journal_line_amount_valid: debit and credit are numbers, not negative, one of them '
    'above zero and the other omitted, NULL or 0 (raises check_violation naming the rule).';
CREATE FUNCTION crm_core.entry_valid(status text, id bigint, reverses_entry_id bigint)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_entry_valid' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_core.entry_valid(text, bigint, bigint) IS
    'CHECK journal_entry_valid: status draft or posted, and the entry does not reverse itself '
    '(raises check_violation naming the rule).';
