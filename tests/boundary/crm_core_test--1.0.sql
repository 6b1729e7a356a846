\echo Use "CREATE EXTENSION crm_core_test" to load this file. \quit

CREATE FUNCTION crm_core_test.throw_error(sqlstate text, message text, detail text DEFAULT '',
                                          hint text DEFAULT '')
    RETURNS void AS 'MODULE_PATHNAME', 'crm_core_test_throw_error' LANGUAGE C STRICT;
CREATE FUNCTION crm_core_test.throw_std_exception(message text)
    RETURNS void AS 'MODULE_PATHNAME', 'crm_core_test_throw_std_exception' LANGUAGE C STRICT;
CREATE FUNCTION crm_core_test.throw_bad_alloc()
    RETURNS void AS 'MODULE_PATHNAME', 'crm_core_test_throw_bad_alloc' LANGUAGE C;
CREATE FUNCTION crm_core_test.throw_non_std()
    RETURNS void AS 'MODULE_PATHNAME', 'crm_core_test_throw_non_std' LANGUAGE C;
CREATE FUNCTION crm_core_test.run_guarded(sql text)
    RETURNS bigint AS 'MODULE_PATHNAME', 'crm_core_test_run_guarded' LANGUAGE C STRICT;
CREATE FUNCTION crm_core_test.destructor_runs()
    RETURNS bigint AS 'MODULE_PATHNAME', 'crm_core_test_destructor_runs' LANGUAGE C;
CREATE FUNCTION crm_core_test.catch_in_subtransaction(sql text)
    RETURNS text AS 'MODULE_PATHNAME', 'crm_core_test_catch_in_subtransaction' LANGUAGE C STRICT;
CREATE FUNCTION crm_core_test.cached_double(value bigint)
    RETURNS bigint AS 'MODULE_PATHNAME', 'crm_core_test_cached_double' LANGUAGE C STRICT;
CREATE FUNCTION crm_core_test.plans_prepared()
    RETURNS bigint AS 'MODULE_PATHNAME', 'crm_core_test_plans_prepared' LANGUAGE C;
CREATE FUNCTION crm_core_test.no_exception_in_flight()
    RETURNS boolean AS 'MODULE_PATHNAME', 'crm_core_test_no_exception_in_flight' LANGUAGE C;
CREATE FUNCTION crm_core_test.leave_error_stacks_changed()
    RETURNS void AS 'MODULE_PATHNAME', 'crm_core_test_leave_error_stacks_changed' LANGUAGE C;
CREATE FUNCTION crm_core_test.error_origin(sql text)
    RETURNS text AS 'MODULE_PATHNAME', 'crm_core_test_error_origin' LANGUAGE C STRICT;
