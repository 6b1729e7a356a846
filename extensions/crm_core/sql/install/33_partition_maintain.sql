-- crm_core partitions: the maintenance of one table. Only CREATE OR REPLACE and idempotent statements: the upgrade script includes this part.

-- ---------------------------------------------------------------------------------------------
-- Maintenance of one table, in one of two passes: first (backfill false) the partitions that
-- retention retires (returned as action 'retire': the caller retires them last, so the ACCESS
-- EXCLUSIVE locks of DETACH are held for the shortest time) and the current and premade ones,
-- oldest first; then (backfill true) the gaps in the past, newest first. One subtransaction and
-- one short lock_timeout per partition; at most max_new are created, and the creations left
-- over come back as one row (action 'postponed', detail: how many).
CREATE OR REPLACE FUNCTION crm_core._maintain_table(cfg crm_core.partition_config, max_new integer,
                                                    backfill boolean)
    RETURNS TABLE(r_parent regclass, r_action text, r_partition text, r_detail text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    parent_name  name;
    parent_nsp   name;
    default_rel  regclass;
    names        text[];
    lowers       timestamp[];
    uppers       timestamp[];
    step         record;
    conflict     regclass;
    timed_out    boolean := false;
    created      integer := 0;
    postponed    bigint := 0;
    now_utc      timestamp := now() AT TIME ZONE 'UTC';
BEGIN
    r_parent := cfg.parent;
    SELECT c.relname, n.nspname INTO parent_name, parent_nsp
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = cfg.parent;
    IF NOT FOUND THEN
        DELETE FROM crm_core.partition_config WHERE parent = cfg.parent;
        r_action := 'unregistered';
        r_detail := format('table with oid %s no longer exists', cfg.parent::oid);
        RETURN NEXT;
        RETURN;
    END IF;
    -- One maintenance run per table at a time; a second one defers instead of waiting. The
    -- lock is crm_core's own (no role can hold it through pg_advisory_lock); the first pass
    -- keeps it for the second.
    IF NOT crm_core._try_xact_lock((hashtext('crm_core.partitions')::bigint << 32)
                                   | cfg.parent::oid::bigint) THEN
        r_action := 'deferred';
        r_detail := 'another maintenance run is working on this table';
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT array_agg(b.table_name::text) FILTER (WHERE NOT b.is_default),
           array_agg(b.lower_bound) FILTER (WHERE NOT b.is_default),
           array_agg(b.upper_bound) FILTER (WHERE NOT b.is_default),
           (max(b.relid::bigint) FILTER (WHERE b.is_default))::oid::regclass
    INTO names, lowers, uppers, default_rel
    FROM crm_core._partition_bounds(cfg.parent) b;

    FOR step IN
        SELECT p.* FROM crm_core._partition_plan(parent_name, cfg.partition_interval, cfg.premake,
                                                 cfg.retention, now(), coalesce(names, '{}'),
                                                 coalesce(lowers, '{}'), coalesce(uppers, '{}')) p
        WHERE CASE WHEN backfill THEN p.action = 'create' AND p.upper_bound <= now_utc
                   ELSE p.action = 'retire' OR p.upper_bound > now_utc END
        ORDER BY p.action = 'create', CASE WHEN backfill THEN p.lower_bound END DESC,
                 p.lower_bound
    LOOP
        r_partition := step.partition_name;
        IF step.action = 'retire' THEN
            r_action := 'retire';
            r_detail := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF created >= max_new THEN
            postponed := postponed + 1;
            CONTINUE;
        END IF;
        conflict := to_regclass(format('%I.%I', parent_nsp, step.partition_name));
        IF timed_out THEN
            -- One lock wait per table and run: the rest waits for the next run.
            r_action := 'deferred';
            r_detail := 'an earlier step on this table hit lock_timeout; retried at the next run';
        ELSIF conflict IS NOT NULL THEN
            r_action := 'deferred';
            r_detail := format('relation %s exists and is not a partition of %s; rename it',
                               conflict, cfg.parent);
        ELSE
            BEGIN
                PERFORM set_config('lock_timeout',
                                   crm_core._lock_timeout_setting(cfg.lock_timeout), true);
                IF cfg.parent = 'crm_core.audit_log'::regclass THEN
                    -- Created (or deferred) as the audit log's owner, whoever runs maintenance
                    -- (91_audit_partitions.sql); NULL means created.
                    r_detail := crm_core._create_audit_partition(step.partition_name,
                                                                 step.lower_bound, step.upper_bound);
                    r_action := CASE WHEN r_detail IS NULL THEN 'created' ELSE 'deferred' END;
                    r_detail := coalesce(r_detail, format('[%s, %s) UTC', step.lower_bound,
                                                          step.upper_bound));
                ELSIF default_rel IS NOT NULL
                   AND crm_core._default_has_rows(default_rel, cfg.control_column,
                                                  step.lower_bound, step.upper_bound) THEN
                    r_action := 'deferred';
                    r_detail := format('default partition %s holds rows for [%s, %s); '
                                       'run crm_core.move_default_rows(%L)',
                                       default_rel, step.lower_bound, step.upper_bound,
                                       cfg.parent::text);
                ELSE
                    PERFORM crm_core._create_partition(cfg.parent, parent_nsp,
                                                       step.partition_name, cfg.control_column,
                                                       step.lower_bound, step.upper_bound);
                    r_action := 'created';
                    r_detail := format('[%s, %s) UTC', step.lower_bound, step.upper_bound);
                END IF;
            EXCEPTION WHEN OTHERS THEN
                SELECT f.action, f.detail INTO r_action, r_detail
                FROM crm_core._failed_step(SQLSTATE, SQLERRM, cfg.lock_timeout) f;
                timed_out := SQLSTATE = '55P03';
            END;
        END IF;
        IF r_action = 'created' THEN
            created := created + 1;
        END IF;
        PERFORM crm_core._log_partition_action(cfg.parent, r_action, r_partition, r_detail);
        RETURN NEXT;
    END LOOP;
    IF postponed > 0 THEN
        r_action := 'postponed';
        r_partition := NULL;
        r_detail := postponed::text;
        RETURN NEXT;
    END IF;
END
$$;

-- True when the default partition holds a row in [lower_bound, upper_bound) (read as its owner).
CREATE OR REPLACE FUNCTION crm_core._default_has_rows(default_rel regclass, control_column name,
                                           lower_bound timestamp, upper_bound timestamp)
    RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_type regtype;
BEGIN
    SELECT atttypid INTO key_type FROM pg_attribute
    WHERE attrelid = default_rel AND attname = control_column;
    RETURN crm_core._select_as_owner(default_rel, format(
        'SELECT count(*) FROM (SELECT FROM ONLY %s WHERE %I >= %s AND %I < %s LIMIT 1) AS found',
        default_rel, control_column, crm_core._bound_literal(lower_bound, key_type),
        control_column, crm_core._bound_literal(upper_bound, key_type))) > 0;
END
$$;
