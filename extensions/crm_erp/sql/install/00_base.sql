-- crm_erp base: schemas, privileges, the library version. See docs/erp.md.
-- The ERP of seed 002 (water packaging, laundry, retail with LPG) on crm_core's ledger:
-- schema erp holds what every business shares (settings, tills, access, posting rules, stock,
-- reconciliation, customers); schemas water, laundry and retail hold the three modules;
-- erp_legacy holds views with seed 002's table names for its own validation queries.

REVOKE ALL ON SCHEMA erp FROM PUBLIC;
CREATE SCHEMA water;
CREATE SCHEMA laundry;
CREATE SCHEMA retail;
CREATE SCHEMA erp_legacy;
REVOKE ALL ON SCHEMA water, laundry, retail, erp_legacy FROM PUBLIC;
COMMENT ON SCHEMA water IS 'crm_erp water packaging: product sizes, raw water intake, production, sales.';
COMMENT ON SCHEMA laundry IS 'crm_erp laundry: service types, jobs with a status workflow, payments.';
COMMENT ON SCHEMA retail IS 'crm_erp retail: categories, products, sales, LPG cylinders and exchanges.';
COMMENT ON SCHEMA erp_legacy IS 'Seed 002''s table names (journal_entry, ledger, account ...) as views, for its validation queries.';

CREATE FUNCTION erp.version() RETURNS text
    AS 'MODULE_PATHNAME', 'crm_erp_version'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION erp.version() IS
    'Version of the loaded crm_erp library; equals the installed extension version when both match.';

-- True for a country whose phone numbers libphonenumber reads ('KE'): the business's country.
CREATE FUNCTION erp.is_phone_region(region text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_erp_is_phone_region' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

-- True for a time zone name PostgreSQL knows ('Africa/Nairobi').
CREATE FUNCTION erp.is_time_zone(name text) RETURNS boolean
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_timezone_names t WHERE t.name = is_time_zone.name)
$$;
