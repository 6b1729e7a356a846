-- crm_core tenant isolation: the business a transaction acts for (crm_core.business_id), which
-- logins may act for which business (crm_core.business_grant), and the row-level security that
-- makes every isolated table show and accept only the current business's rows. crm_core's own
-- tables are isolated in 95_tenant_policies.sql; applications isolate theirs with
-- crm_core.enable_tenant_isolation(). See docs/tenants.md.

-- The business this session acts for: SET LOCAL crm_core.business_id = '42' (NULL when none is
-- set). Refused (42501) when the session's role (the login, or the role it SET ROLE to) was
-- not granted it.
-- Every role runs it: the policies call it as the querying role. Parallel safe: a worker has
-- the leader's setting and roles, and reads the grants itself.
CREATE FUNCTION crm_core.current_business() RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_core_current_business'
    LANGUAGE C STABLE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION crm_core.current_business() TO PUBLIC;
COMMENT ON FUNCTION crm_core.current_business() IS
    'The business in crm_core.business_id (NULL if none), checked against the grants of the session''s role (login or SET ROLE).';

-- ---------------------------------------------------------------------------------------
-- Which roles may act for which business (seed 002's BusinessAccess). A NULL business_id
-- grants every business: a pooled application login that sets the right one per transaction.
-- Admin data: no policy, no privileges for application roles.

CREATE TABLE crm_core.business_grant (
    role        regrole     NOT NULL,
    business_id bigint      REFERENCES crm_core.business (id),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    granted_by  name        NOT NULL DEFAULT session_user,
    CONSTRAINT business_grant_once UNIQUE NULLS NOT DISTINCT (role, business_id)
);
COMMENT ON TABLE crm_core.business_grant IS
    'Businesses each role (and every role that inherits from it) may act for; NULL business_id = every business. Change with crm_core.grant_business() / revoke_business().';
-- Each backend caches the grants: a change invalidates every backend's cache at commit.
CREATE FUNCTION crm_core.business_grants_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_core_business_grants_changed' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION crm_core.business_grants_changed() FROM PUBLIC;
CREATE TRIGGER business_grant_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm_core.business_grant
    FOR EACH STATEMENT EXECUTE FUNCTION crm_core.business_grants_changed();
SELECT pg_catalog.pg_extension_config_dump('crm_core.business_grant', '');

-- The roles granted business_id or every business (current_business() calls it as the
-- extension owner). On a Citus node business_grant is a reference table: this node's copy (its
-- shard) is read, so that a policy evaluated inside a query on a shard starts no distributed
-- query.
CREATE FUNCTION crm_core._business_grantees(business_id bigint) RETURNS SETOF oid
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    source regclass := 'crm_core.business_grant';
    local_copy regclass;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL THEN
        EXECUTE $q$SELECT pg_catalog.to_regclass(pg_catalog.format('crm_core.%I', 'business_grant_' || s.shardid))
                     FROM pg_catalog.pg_dist_shard AS s WHERE s.logicalrelid = $1$q$
           INTO local_copy USING source;
        source := coalesce(local_copy, source);
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT g.role::pg_catalog.oid FROM %s AS g '
        'WHERE g.business_id OPERATOR(pg_catalog.=) $1 OR g.business_id IS NULL', source)
        USING _business_grantees.business_id;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core._business_grantees(bigint) FROM PUBLIC;

-- Lets role (and the roles that inherit from it) act for business_id; NULL = every business.
CREATE FUNCTION crm_core.grant_business(role regrole, business_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF grant_business.role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass NULL as business_id to grant every business.';
    END IF;
    IF grant_business.business_id IS NOT NULL AND NOT EXISTS (
           SELECT FROM crm_core.business AS b WHERE b.id = grant_business.business_id) THEN
        RAISE EXCEPTION 'business % does not exist', grant_business.business_id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'business', SCHEMA = 'crm_core';
    END IF;
    -- Grants of dropped roles: a later role could be given the same OID.
    DELETE FROM crm_core.business_grant AS g
     WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role);
    INSERT INTO crm_core.business_grant (role, business_id)
    VALUES (grant_business.role, grant_business.business_id)
    ON CONFLICT ON CONSTRAINT business_grant_once DO NOTHING;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.grant_business(regrole, bigint) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.grant_business(regrole, bigint) IS
    'Lets a role (and roles inheriting from it) set crm_core.business_id to the business; NULL = every business.';

-- Takes back one grant (NULL business_id: the every-business grant); true if there was one.
CREATE FUNCTION crm_core.revoke_business(role regrole, business_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM crm_core.business_grant AS g
     WHERE g.role = revoke_business.role
       AND g.business_id IS NOT DISTINCT FROM revoke_business.business_id;
    RETURN FOUND;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.revoke_business(regrole, bigint) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.revoke_business(regrole, bigint) IS
    'Takes back one grant of grant_business() (NULL business_id: the every-business grant); true if it existed.';

-- Takes back every grant of a role (before DROP ROLE); returns how many.
CREATE FUNCTION crm_core.revoke_business(role regrole) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    removed bigint;
BEGIN
    DELETE FROM crm_core.business_grant AS g WHERE g.role = revoke_business.role;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;
REVOKE EXECUTE ON FUNCTION crm_core.revoke_business(regrole) FROM PUBLIC;
COMMENT ON FUNCTION crm_core.revoke_business(regrole) IS
    'Takes back every business grant of a role (run it before DROP ROLE); returns how many.';
