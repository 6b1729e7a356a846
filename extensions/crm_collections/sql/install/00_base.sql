-- crm_collections base: the schema's privileges, the library version, and the functions every
-- other part uses. See docs/collections.md.

-- The schema is for the extension's owner; crm_core's roles get what each part grants them.
REVOKE ALL ON SCHEMA collections FROM PUBLIC;
GRANT USAGE ON SCHEMA collections TO crm_core_app, crm_core_readonly;

CREATE FUNCTION collections.version() RETURNS text
    AS 'MODULE_PATHNAME', 'crm_collections_version'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION collections.version() IS
    'Version of the loaded crm_collections library; equals the installed extension version when both match.';

-- Per-backend caches (settings, products, buckets, the fingerprint key) are dropped in every
-- backend when one of those tables changes: a statement trigger on each of them.
CREATE FUNCTION collections._configuration_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_collections_configuration_changed' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION collections._configuration_changed() FROM PUBLIC;

-- Amounts are numeric with at most the currency's decimals (ICU's currency data: 2 for EUR,
-- 0 for JPY, 3 for BHD).
CREATE FUNCTION collections.currency_decimals(currency text) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_collections_currency_decimals'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION collections.currency_decimals(text) IS
    'Decimals of an ISO 4217 currency (ICU); refuses a code that is not three upper-case letters.';
