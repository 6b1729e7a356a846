-- crm_core ledger shape: the event triggers that call the guards of 21_ledger_shape.sql.
CREATE EVENT TRIGGER crm_core_guard_ledger_shape ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER INDEX', 'CREATE TRIGGER', 'ALTER TRIGGER', 'CREATE RULE',
                 'ALTER RULE', 'CREATE POLICY', 'ALTER POLICY')
    EXECUTE FUNCTION crm_core.guard_ledger_shape();
CREATE EVENT TRIGGER crm_core_guard_ledger_shape_drop ON sql_drop
    EXECUTE FUNCTION crm_core.guard_ledger_shape_drop();
