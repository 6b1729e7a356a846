-- The C++/PostgreSQL error boundary (DESIGN.md section 3), on a real backend.
-- Every throws_ok runs in a subtransaction, like an application's SAVEPOINT; a backend crash
-- would end this whole file, so reaching finish() also proves the backend survived.
BEGIN;
SELECT plan(35);

CREATE TEMP TABLE session_facts AS SELECT pg_backend_pid() AS pid;

-- Rule 1: a C++ exception reaches the client as an ordinary error with its SQLSTATE.
SELECT throws_ok($$SELECT crm_core_test.throw_error('22023', 'amount must be positive')$$,
                 '22023', 'amount must be positive',
                 'a C++ Error keeps its SQLSTATE and message');
SELECT throws_ok($$SELECT crm_core_test.throw_error('P0C01', 'custom state')$$,
                 'P0C01', 'custom state', 'any valid SQLSTATE survives the boundary');
SELECT throws_ok($$SELECT crm_core_test.throw_error('22023', 'amount must be positive')$$,
                 '22023', 'amount must be positive', 'the same call fails the same way again');
SELECT throws_ok($$SELECT crm_core_test.throw_error('bad', 'x')$$,
                 '22023', 'invalid SQLSTATE "bad"', 'bad input to the test function is a clear error');

-- detail and hint travel with the message
CREATE FUNCTION pg_temp.error_fields(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE state text; detail text; hint text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RETURN state || '|' || detail || '|' || hint;
END $f$;
SELECT is(pg_temp.error_fields($$SELECT crm_core_test.throw_error('23514', 'm', 'the detail', 'the hint')$$),
          '23514|the detail|the hint', 'detail and hint reach the client');

-- Rule 1b: exceptions that carry no SQLSTATE map to sensible ones.
SELECT throws_ok($$SELECT crm_core_test.throw_std_exception('plain std::runtime_error')$$,
                 'XX000', 'plain std::runtime_error', 'std::exception becomes internal_error (XX000)');
SELECT throws_ok($$SELECT crm_core_test.throw_bad_alloc()$$,
                 '53200', 'out of memory in crm_core', 'std::bad_alloc becomes out_of_memory (53200)');
SELECT throws_ok($$SELECT crm_core_test.throw_non_std()$$,
                 'XX000', 'unknown C++ exception in crm_core', 'a non-std exception is still caught');

-- Rule 2: a PostgreSQL error inside a guarded call becomes a C++ exception, the C++ frames
-- unwind (destructors run) and the original error is re-reported unchanged.
SELECT crm_core_test.destructor_runs() AS before \gset
SELECT throws_ok($$SELECT crm_core_test.run_guarded('SELECT 1/0')$$,
                 '22012', 'division by zero', 'a guarded PostgreSQL error is re-reported as itself');
SELECT is(crm_core_test.destructor_runs(), (:before + 1)::bigint,
          'the C++ destructor on the unwound frame ran');
SELECT throws_ok($$SELECT crm_core_test.run_guarded('SELECT 1/0')$$,
                 '22012', 'division by zero', 'and again, on the same backend');
SELECT is(crm_core_test.destructor_runs(), (:before + 2)::bigint, 'and its destructor ran again');
SELECT is(crm_core_test.run_guarded('SELECT generate_series(1, 3)'), 3::bigint,
          'a guarded call that succeeds returns normally');
SELECT is(crm_core_test.destructor_runs(), (:before + 3)::bigint, 'destructors run on success too');

-- constraint violations keep their diagnostic fields (applications key on them)
CREATE TABLE boundary_unique (id int CONSTRAINT boundary_unique_pk PRIMARY KEY);
INSERT INTO boundary_unique VALUES (1);
CREATE FUNCTION pg_temp.constraint_of(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE state text; name text; tab text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, name = CONSTRAINT_NAME, tab = TABLE_NAME;
    RETURN state || '|' || name || '|' || tab;
END $f$;
SELECT is(pg_temp.constraint_of($$SELECT crm_core_test.run_guarded('INSERT INTO boundary_unique VALUES (1)')$$),
          '23505|boundary_unique_pk|boundary_unique',
          'a unique violation keeps SQLSTATE, constraint and table names');

-- Rule 2c: re-raised, a PostgreSQL error is the error PostgreSQL raised: its location (the C
-- function and file that raised it, shown by VERBOSITY verbose) and its CONTEXT, each line once.
SELECT is(crm_core_test.error_origin($$SELECT crm_core_test.run_guarded('SELECT 1/0')$$),
          E'int4div|int.c|SQL statement "SELECT 1/0"\n'
          'SQL statement "SELECT crm_core_test.run_guarded(''SELECT 1/0'')"',
          'a re-raised error keeps its LOCATION and CONTEXT');
SELECT is(crm_core_test.error_origin($$SELECT crm_core_test.throw_error('22023', 'm')$$),
          'raise|function.cpp|SQL statement "SELECT crm_core_test.throw_error(''22023'', ''m'')"',
          'an error of our own C++ code is raised at the boundary, under its callers'' context');
SELECT is((SELECT split_part(origin, '|', 1) || '|' || split_part(origin, '|', 2)
           FROM crm_core_test.error_origin($sql$DO $do$ BEGIN
                    PERFORM crm_core_test.run_guarded('SELECT 1/0');
                EXCEPTION WHEN division_by_zero THEN RAISE; END $do$$sql$) AS origin),
          'int4div|int.c',
          'caught and re-raised by PL/pgSQL after its rollback, the error still has its LOCATION');
CREATE FUNCTION pg_temp.error_context(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE context text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS context = PG_EXCEPTION_CONTEXT;
    RETURN regexp_replace(context, 'pg_temp_[0-9]+', 'pg_temp');
END $f$;
SELECT is(pg_temp.error_context($$SELECT crm_core_test.run_guarded('SELECT 1/0')$$),
          E'SQL statement "SELECT 1/0"\n'
          'SQL statement "SELECT crm_core_test.run_guarded(''SELECT 1/0'')"\n'
          'PL/pgSQL function pg_temp.error_context(text) line 4 at EXECUTE',
          'PL/pgSQL sees the whole CONTEXT of a re-raised error');

-- Rule 2d: C++ code that leaves PostgreSQL's error stacks changed (here: an exception thrown out
-- of a PG_TRY block) is caught at the boundary; the stacks are restored, so the next error
-- unwinds normally instead of jumping into a dead frame.
SELECT throws_ok($$SELECT crm_core_test.leave_error_stacks_changed()$$, 'XX000',
                 'crm_core: C++ code left PostgreSQL''s error stacks changed (an exception or '
                 'longjmp crossed a PG_TRY block); the stacks were restored',
                 'changed error stacks are reported');
SELECT throws_ok($$SELECT crm_core_test.run_guarded('SELECT 1/0')$$,
                 '22012', 'division by zero', 'the next error after them is reported normally');
SELECT is((SELECT pid FROM session_facts), pg_backend_pid(), 'on the same backend');

-- Rule 2b: caught in C++ inside a subtransaction, the error is data and the session goes on.
SELECT is(crm_core_test.catch_in_subtransaction('SELECT 1/0'),
          '22012|division by zero|context-restored',
          'C++ sees SQLSTATE and message; the memory context is restored');
SELECT is(crm_core_test.catch_in_subtransaction('SELECT 1'), 'ok', 'no error, no exception');
SELECT is(crm_core_test.catch_in_subtransaction('INSERT INTO boundary_unique VALUES (1)'),
          '23505|duplicate key value violates unique constraint "boundary_unique_pk"|context-restored',
          'a constraint error is caught the same way');
SELECT is(crm_core_test.catch_in_subtransaction('INSERT INTO boundary_unique VALUES (2), (1)'),
          '23505|duplicate key value violates unique constraint "boundary_unique_pk"|context-restored',
          'a partly applied statement...');
SELECT is((SELECT count(*) FROM boundary_unique), 1::bigint,
          '...is rolled back with its subtransaction');

-- Rule 3: no C++ exception is left half-handled after all those errors.
SELECT ok(crm_core_test.no_exception_in_flight(), 'no exception is left in flight');

-- Rule 4: plans are prepared once per backend and kept.
SELECT crm_core_test.plans_prepared() AS plans_before \gset
SELECT is(crm_core_test.cached_double(21), 42::bigint, 'a cached plan runs');
SELECT is(crm_core_test.cached_double(50), 100::bigint, 'and runs again with new values');
SELECT is(crm_core_test.plans_prepared(), (:plans_before + 1)::bigint,
          'the plan was prepared once for both calls');

-- Rule 5: the session is healthy: same backend, inside a savepoint, and the ledger of errors
-- above did not abort the surrounding transaction.
SAVEPOINT before_error;
SELECT throws_ok($$SELECT crm_core_test.run_guarded('SELECT 1/0')$$, '22012', 'division by zero',
                 'an error inside a savepoint');
ROLLBACK TO SAVEPOINT before_error;
SELECT is(crm_core_test.run_guarded('SELECT 1'), 1::bigint, 'the savepoint is usable after it');
SELECT is((SELECT pid FROM session_facts), pg_backend_pid(), 'still the same backend: it never crashed');
SELECT ok(crm_core_test.no_exception_in_flight(), 'and still no exception in flight');

SELECT * FROM finish();
ROLLBACK;
