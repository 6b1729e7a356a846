// SQL that crm_core runs on a user's table runs as that table's owner, the way VACUUM, REINDEX
// and REFRESH MATERIALIZED VIEW act on a table: whoever calls maintenance (a superuser from
// cron, the service role through a SECURITY DEFINER entry point), the owner's code that the
// statement reaches (CHECK constraints and index predicates evaluated or constant-folded,
// triggers, row-level security) runs with the owner's privileges only, inside
// SECURITY_RESTRICTED_OPERATION and with search_path pinned to pg_catalog, pg_temp.
#include <cstdint>
#include <optional>
#include <string>

#include "datum.hpp"
#include "function.hpp"
#include "acting_as.hpp"
#include "relation.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

namespace {

using crm_core::pg::ActingAs;
using crm_core::pg::Error;
using crm_core::pg::pg_call;

// Runs sql as the owner of relation: rows processed, or with single_value the bigint in the one
// column of its first row (nullopt: no row or NULL). Refused unless the current user is a
// superuser or has the privileges of the owner's role.
std::optional<std::int64_t> run_as_owner(Oid relation, const std::string& sql, bool single_value) {
    Oid owner = crm_core::pg::relation_owner(relation);
    Oid caller = GetUserId();
    if (!pg_call([&] { return has_privs_of_role(caller, owner); })) {
        const char* owner_name = pg_call([&] { return GetUserNameFromId(owner, false); });
        throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE, std::string("must be a member of role ") +
                                                        owner_name + " to act as the owner of " +
                                                        crm_core::pg::qualified_name(relation));
    }
    crm_core::pg::SpiConnection spi;
    ActingAs as_owner(owner, ActingAs::Mode::restricted, {{"search_path", "pg_catalog, pg_temp"}});
    uint64 processed = crm_core::pg::execute_once(sql.c_str(), single_value);
    if (!single_value) {
        return static_cast<std::int64_t>(processed);
    }
    if (SPI_tuptable->tupdesc->natts != 1 ||
        TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypid != INT8OID) {
        throw Error(ERRCODE_DATATYPE_MISMATCH,
                    "_select_as_owner needs a query returning one bigint column");
    }
    if (processed == 0) {
        return std::nullopt;
    }
    std::optional<Datum> value = crm_core::pg::result_value(0, 1);
    if (!value) {
        return std::nullopt;
    }
    return DatumGetInt64(*value);
}

}  // namespace

// crm_core._execute_as_owner(relation regclass, statement text): runs statement as the owner
// of relation; returns the rows it processed.
CRM_CORE_FUNCTION(crm_core_execute_as_owner) {
    Oid relation = PG_GETARG_OID(0);
    std::string statement = crm_core::pg::text_argument(fcinfo, 1);
    PG_RETURN_INT64(*run_as_owner(relation, statement, false));
}

// crm_core._select_as_owner(relation regclass, query text): runs a query returning one bigint as
// the owner of relation; returns it (NULL when the query returns no row or NULL).
CRM_CORE_FUNCTION(crm_core_select_as_owner) {
    Oid relation = PG_GETARG_OID(0);
    std::string query = crm_core::pg::text_argument(fcinfo, 1);
    std::optional<std::int64_t> value = run_as_owner(relation, query, true);
    if (!value) {
        PG_RETURN_NULL();
    }
    PG_RETURN_INT64(*value);
}

// crm_core._default_rows(parent regclass): the rows in the default partition of parent (NULL
// when it has none), counted as the partition's owner, for whoever may read
// crm_core.partitioned_tables (the view calls it with the reader's identity).
CRM_CORE_FUNCTION(crm_core_default_rows) {
    Oid parent = PG_GETARG_OID(0);
    Oid reader = GetUserId();
    AclResult allowed = pg_call([&] {
        Oid view = get_relname_relid("partitioned_tables", get_namespace_oid("crm_core", false));
        return pg_class_aclcheck(view, reader, ACL_SELECT);
    });
    if (allowed != ACLCHECK_OK) {
        throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "permission denied for view partitioned_tables");
    }
    Oid partition = pg_call([&] { return get_default_partition_oid(parent); });
    if (partition == InvalidOid) {
        PG_RETURN_NULL();
    }
    Oid owner = crm_core::pg::relation_owner(partition);
    std::string count = "SELECT count(*) FROM ONLY " + crm_core::pg::qualified_name(partition);
    crm_core::pg::SpiConnection spi;
    ActingAs as_owner(owner, ActingAs::Mode::restricted, {{"search_path", "pg_catalog, pg_temp"}});
    crm_core::pg::execute_once(count.c_str(), true);
    PG_RETURN_INT64(DatumGetInt64(*crm_core::pg::result_value(0, 1)));
}
