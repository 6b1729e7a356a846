-- crm_core base: the schema's privileges and the library version check.

-- The schema is for the extension's owner; roles get what each feature grants them.
REVOKE ALL ON SCHEMA crm_core FROM PUBLIC;

CREATE FUNCTION crm_core.version() RETURNS text
    AS 'MODULE_PATHNAME', 'crm_core_version'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_core.version() IS
    'Version of the loaded crm_core library; equals the installed extension version when both match.';
