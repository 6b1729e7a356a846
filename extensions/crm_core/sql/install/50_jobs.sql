-- crm_core jobs: functions registered to run periodically, by crm-core-service under its leader
-- lock (beside its built-in jobs) or by CALL crm_core.run_due_jobs() from cron. A job runs with
-- the privileges of the role that registered it, never with the runner's: registration needs the
-- right to execute the function, the run switches to that role as a security-restricted
-- operation with search_path = pg_catalog, pg_temp, and its statement_timeout bounds it.
-- The schedule (next due time, failures, backoff) lives here, so every runner agrees and a
-- daily job does not run twice when leadership moves. See docs/operations.md, "Registered jobs".

CREATE TABLE crm_core.job (
    name                 text         PRIMARY KEY,
    job                  regprocedure NOT NULL,
    every                interval     NOT NULL,
    statement_timeout    interval     NOT NULL,
    run_as               regrole      NOT NULL,
    -- The extension whose script registered the job (it registers it again on restore).
    extension            name,
    registered_at        timestamptz  NOT NULL DEFAULT now(),
    next_due_at          timestamptz  NOT NULL,
    last_started_at      timestamptz,
    last_finished_at     timestamptz,
    last_result          text,
    last_error           text,
    consecutive_failures integer      NOT NULL DEFAULT 0,
    runs                 bigint       NOT NULL DEFAULT 0,
    failures             bigint       NOT NULL DEFAULT 0,
    CONSTRAINT job_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    CONSTRAINT job_every_at_least_a_second CHECK (every >= interval '1 second'),
    CONSTRAINT job_statement_timeout_positive CHECK (statement_timeout > interval '0'),
    CONSTRAINT job_last_result CHECK (last_result IN ('success', 'failure'))
);
COMMENT ON TABLE crm_core.job IS
    'Registered jobs and their schedule; change with crm_core.schedule_job() / unschedule_job(), read crm_core.jobs.';
SELECT pg_catalog.pg_extension_config_dump('crm_core.job', 'WHERE extension IS NULL');

-- When a job is due again after a run, in milliseconds (lib/pure job_schedule.hpp: the rule
-- crm-core-service uses for its built-in jobs).
CREATE FUNCTION crm_core._job_next_run_delay_ms(interval_ms bigint, consecutive_failures integer,
                                                backoff_initial_ms bigint, backoff_max_ms bigint,
                                                jitter double precision,
                                                random01 double precision)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_core_job_next_run_delay_ms'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

-- Refuses (raises) when run_as may not run function job as a job; at registration and before
-- every run (privileges and owners change).
CREATE FUNCTION crm_core._job_check(job regprocedure, run_as regrole) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn pg_proc%ROWTYPE;
    role_is_superuser boolean;
    owner_is_superuser boolean;
BEGIN
    SELECT r.rolsuper INTO role_is_superuser FROM pg_roles AS r WHERE r.oid = run_as;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role with OID % no longer exists', run_as::oid
            USING ERRCODE = 'undefined_object', HINT = 'Schedule the job again as an existing role.';
    END IF;
    SELECT * INTO fn FROM pg_proc AS p WHERE p.oid = job;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'function with OID % does not exist', job::oid
            USING ERRCODE = 'undefined_function';
    END IF;
    IF fn.prokind <> 'f' OR fn.pronargs <> 0
       OR fn.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype, 'internal'::regtype) THEN
        RAISE EXCEPTION 'a job must be a function without arguments; % is not', job
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Wrap the call in a function without arguments (its result is ignored).';
    END IF;
    IF NOT has_function_privilege(run_as, job, 'EXECUTE')
       OR NOT has_schema_privilege(run_as, fn.pronamespace, 'USAGE') THEN
        RAISE EXCEPTION 'role % may not execute function %', run_as, job
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A job runs with the privileges of the role that scheduled it.';
    END IF;
    -- The function's owner can change its body at any time, and the job would run that code as
    -- run_as: so run_as must own it (or have its owner's privileges), or a superuser owns it. A
    -- superuser runs only superusers' functions (pg_has_role is always true for a superuser).
    SELECT r.rolsuper INTO owner_is_superuser FROM pg_roles AS r WHERE r.oid = fn.proowner;
    IF NOT (fn.proowner = run_as OR owner_is_superuser
            OR (NOT role_is_superuser AND pg_has_role(run_as, fn.proowner, 'USAGE'))) THEN
        RAISE EXCEPTION 'role % may not schedule function % owned by %', run_as, job,
                        fn.proowner::regrole
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The owner of a function can change what it does; the job would run '
                           'that code with the privileges of the role that scheduled it.',
                  HINT = 'Schedule functions you own, or that a superuser owns.';
    END IF;
END
$$;

-- Registers or replaces job `name` for role registrant; run as the owner of crm_core.job by
-- crm_core.schedule_job(), which passes the role that called it.
CREATE FUNCTION crm_core._job_register(registrant regrole, name text, job regprocedure,
                                       every interval, statement_timeout interval,
                                       start_at timestamptz, extension name)
    RETURNS timestamptz
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    existing crm_core.job;
    replacing boolean;
    due timestamptz;
BEGIN
    IF name IS NULL OR job IS NULL OR every IS NULL OR statement_timeout IS NULL THEN
        RAISE EXCEPTION 'name, job, every and statement_timeout are required'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid job name "%"', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Up to 63 letters, digits, "_", ".", ":" or "-", starting with a letter or digit.';
    END IF;
    IF name IN ('maintenance', 'refresh', 'seal', 'health') THEN
        RAISE EXCEPTION 'job name "%" is reserved for a built-in job of crm-core-service', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Choose another name, e.g. prefixed with your application''s.';
    END IF;
    IF every < interval '1 second' THEN
        RAISE EXCEPTION 'every must be at least 1 second, not %', every
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF statement_timeout <= interval '0' THEN
        RAISE EXCEPTION 'statement_timeout must be positive, not %', statement_timeout
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM crm_core._job_check(job, registrant);
    SELECT * INTO existing FROM crm_core.job AS j WHERE j.name = name FOR UPDATE;
    replacing := FOUND;
    IF replacing AND NOT pg_has_role(registrant, existing.run_as, 'MEMBER') THEN
        RAISE EXCEPTION 'job "%" belongs to role %', name, existing.run_as
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Choose another name, or have that role (or a superuser) change it.';
    END IF;
    -- A new job is due at once; a replaced one keeps its schedule unless the new interval
    -- makes it due sooner.
    due := CASE WHEN start_at IS NOT NULL THEN start_at
                WHEN replacing THEN least(existing.next_due_at, now() + every)
                ELSE now() END;
    INSERT INTO crm_core.job AS j (name, job, every, statement_timeout, run_as, extension,
                                   next_due_at)
    VALUES (name, job, every, statement_timeout, registrant, extension, due)
    ON CONFLICT ON CONSTRAINT job_pkey DO UPDATE
    SET job = excluded.job, every = excluded.every, statement_timeout = excluded.statement_timeout,
        run_as = excluded.run_as, extension = excluded.extension,
        next_due_at = excluded.next_due_at;
    RETURN due;
END
$$;

CREATE FUNCTION crm_core.schedule_job(name text, job regprocedure, every interval,
                                      statement_timeout interval DEFAULT interval '15 minutes',
                                      start_at timestamptz DEFAULT NULL)
    RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'crm_core_schedule_job'
    LANGUAGE C;
COMMENT ON FUNCTION crm_core.schedule_job(text, regprocedure, interval, interval, timestamptz) IS
    'Registers (or changes) a job: function job(), run every interval as the calling role, '
    'bounded by statement_timeout, first at start_at (default: at once). Returns when it is due.';

-- Removes job `name` if registrant may (it belongs to registrant, or registrant is a superuser);
-- run as the owner of crm_core.job by crm_core.unschedule_job().
CREATE FUNCTION crm_core._job_unregister(registrant regrole, name text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    owner regrole;
BEGIN
    SELECT j.run_as INTO owner FROM crm_core.job AS j WHERE j.name = name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF NOT (SELECT r.rolsuper FROM pg_roles AS r WHERE r.oid = registrant)
       AND NOT (EXISTS (SELECT FROM pg_roles AS r WHERE r.oid = owner)
                AND pg_has_role(registrant, owner, 'MEMBER')) THEN
        RAISE EXCEPTION 'job "%" belongs to role %', name, owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only that role (or a superuser) may unschedule it.';
    END IF;
    DELETE FROM crm_core.job AS j WHERE j.name = name;
    RETURN true;
END
$$;

CREATE FUNCTION crm_core.unschedule_job(name text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_unschedule_job'
    LANGUAGE C STRICT;
COMMENT ON FUNCTION crm_core.unschedule_job(text) IS
    'Removes a job of the calling role; false when no job has that name.';

CREATE FUNCTION crm_core._job_call(job regprocedure, run_as regrole, timeout_ms bigint)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_core_job_call'
    LANGUAGE C STRICT;

CREATE FUNCTION crm_core._job_timed_out() RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_core_job_timed_out'
    LANGUAGE C STRICT;
