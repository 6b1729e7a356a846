-- crm_core partitions: creating and filling one partition. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

-- ---------------------------------------------------------------------------------------------
-- One partition: created standalone, filled (optionally, from the default partition), checked,
-- attached, then given the parent's privileges and statement triggers. Every statement on the
-- owner's tables runs as the parent's owner (crm_core._execute_as_owner: the owner's CHECK
-- constraints, index predicates and triggers never run as the caller), so the partition is the
-- owner's from the start. Returns the rows moved in. Runs under the caller's lock_timeout and
-- subtransaction.
CREATE OR REPLACE FUNCTION crm_core._create_partition(parent regclass, schema_name name, table_name name,
                                           control_column name, lower_bound timestamp,
                                           upper_bound timestamp, fill_from regclass DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_table  text := format('%I.%I', schema_name, table_name);
    parent_rel pg_class%ROWTYPE;
    key_type   regtype;
    lower_sql  text;
    upper_sql  text;
    check_name text := crm_core._partition_identifier(table_name, '_bounds');
    columns    text;
    moved      bigint := 0;
    acl        record;
    trig       record;
BEGIN
    SELECT * INTO parent_rel FROM pg_class WHERE oid = parent;
    SELECT atttypid INTO key_type FROM pg_attribute
    WHERE attrelid = parent AND attname = control_column AND NOT attisdropped;
    lower_sql := crm_core._bound_literal(lower_bound, key_type);
    upper_sql := crm_core._bound_literal(upper_bound, key_type);

    -- Standalone first: LIKE takes only ACCESS SHARE on the parent.
    PERFORM crm_core._execute_as_owner(parent, format(
        'CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES '
        'INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED INCLUDING STATISTICS '
        'INCLUDING COMPRESSION)%s',
        new_table, parent,
        CASE WHEN parent_rel.reltablespace <> 0 THEN
            format(' TABLESPACE %I', (SELECT spcname FROM pg_tablespace
                                      WHERE oid = parent_rel.reltablespace))
        ELSE '' END));
    IF fill_from IS NOT NULL THEN
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO columns
        FROM pg_attribute
        WHERE attrelid = parent AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
        moved := crm_core._execute_as_owner(parent, format(
            'WITH moved AS (DELETE FROM ONLY %s WHERE %I >= %s AND %I < %s RETURNING %s) '
            'INSERT INTO %s (%s) SELECT %s FROM moved',
            fill_from, control_column, lower_sql, control_column, upper_sql, columns,
            new_table, columns, columns));
    END IF;
    -- crm_core.audit_log keeps its keys and indexes per partition (see 22_audit_log.sql).
    IF parent = 'crm_core.audit_log'::regclass THEN
        PERFORM crm_core._index_audit_partition(new_table::regclass);
    END IF;
    -- The partition constraint proved beforehand, so ATTACH does not scan the new table.
    PERFORM crm_core._execute_as_owner(parent, format(
        'ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL AND %I >= %s AND %I < %s)',
        new_table, check_name, control_column, control_column,
        CASE WHEN lower_sql = 'MINVALUE' THEN quote_literal('-infinity') ELSE lower_sql END,
        control_column,
        CASE WHEN upper_sql = 'MAXVALUE' THEN quote_literal('infinity') ELSE upper_sql END));
    -- SHARE UPDATE EXCLUSIVE on the parent: readers and writers carry on.
    PERFORM crm_core._execute_as_owner(parent, format(
        'ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
        parent, new_table, lower_sql, upper_sql));
    PERFORM crm_core._execute_as_owner(parent, format('ALTER TABLE %s DROP CONSTRAINT %I',
                                                      new_table, check_name));

    -- Statement triggers (TRUNCATE guards) are not cloned by PostgreSQL: copy them; and give
    -- every trigger the parent's enabled state (ENABLE ALWAYS survives replica mode).
    FOR trig IN
        SELECT t.tgname, t.tgenabled, (t.tgtype & 1) = 1 AS is_row,
               pg_get_triggerdef(t.oid) AS def
        FROM pg_trigger t
        WHERE t.tgrelid = parent AND NOT t.tgisinternal
    LOOP
        -- Guards of append-only tables are already there: the event trigger added them on ATTACH.
        IF NOT trig.is_row AND NOT EXISTS (SELECT FROM pg_trigger
                                           WHERE tgrelid = new_table::regclass
                                             AND tgname = trig.tgname) THEN
            PERFORM crm_core._execute_as_owner(parent, replace(trig.def, format(' ON %s ', parent),
                                                               format(' ON %s ', new_table)));
        END IF;
        IF trig.tgenabled <> 'O' THEN
            PERFORM crm_core._execute_as_owner(parent, format(
                'ALTER TABLE %s %s TRIGGER %I', new_table,
                CASE trig.tgenabled WHEN 'A' THEN 'ENABLE ALWAYS'
                                    WHEN 'R' THEN 'ENABLE REPLICA'
                                    ELSE 'DISABLE' END,
                trig.tgname));
        END IF;
    END LOOP;

    FOR acl IN SELECT * FROM aclexplode(parent_rel.relacl) WHERE grantee <> parent_rel.relowner LOOP
        PERFORM crm_core._execute_as_owner(parent, format(
            'GRANT %s ON %s TO %s%s', acl.privilege_type, new_table,
            CASE acl.grantee WHEN 0 THEN 'PUBLIC'
                             ELSE quote_ident(pg_get_userbyid(acl.grantee)) END,
            CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END));
    END LOOP;
    RETURN moved;
END
$$;
