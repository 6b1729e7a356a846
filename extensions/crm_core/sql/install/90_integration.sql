-- crm_core integration of the features: the guards' refusals before a statement runs, and
-- pg_dump | psql restores that come back whole. See docs/immutability.md. (The audit log under
-- partition management: 91_audit_partitions.sql.)

-- ---------------------------------------------------------------------------------------
-- Refusals before a statement runs, and restores (crm_core.guard_ddl_command_start(), C, in
-- 18_guard_ddl_start.sql): replacing a guard (CREATE OR REPLACE TRIGGER), detaching a guarded
-- partition (also CONCURRENTLY, which commits before ddl_command_end), renaming a column or an
-- enum value or attribute that append-only rows store, dropping a ledger rule's unique index
-- (also CONCURRENTLY). And pg_dump | psql: pg_dump writes the TRUNCATE guard of every partition
-- of an append-only or audited table, which the ddl_command_end event trigger has already put back when the restore attached the partition (or
-- enabled the parent's guards); a superuser's CREATE TRIGGER of a guard the table already has,
-- with the same function, replaces it instead of failing.
CREATE EVENT TRIGGER crm_core_guard_ddl_command_start ON ddl_command_start
    WHEN TAG IN ('CREATE TRIGGER', 'ALTER TABLE', 'ALTER TYPE', 'DROP INDEX')
    EXECUTE FUNCTION crm_core.guard_ddl_command_start();


-- Every row the install script wrote into a dumped configuration table is the extension's.
UPDATE crm_core.append_only_table SET by_extension = true;
