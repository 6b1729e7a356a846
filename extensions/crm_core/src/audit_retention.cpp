// Maintenance of crm_core.audit_log through its guards: the DDL event triggers refuse DETACH of
// a guarded partition to everyone but a superuser, and the row guards refuse DELETE to everyone.
// crm_core's own maintenance, running as the owner of the audit log, may detach a month for
// retention and move rows from the default partition into their new month, and only while it
// does so (backend-local state set here in C, not a setting a session could change).
#include "audit_retention.hpp"
#include "function.hpp"
#include "relation.hpp"
#include "spi.hpp"

namespace {

// The audit partition crm_core's retention is detaching in this backend, or InvalidOid.
Oid partition_being_retired = InvalidOid;

// The default partition crm_core's maintenance is moving audit rows out of, or InvalidOid.
Oid default_being_emptied = InvalidOid;

// Sets a backend-local relation mark for the lifetime of the object (also when the DDL fails).
class RelationMark {
  public:
    RelationMark(Oid& mark, Oid relation) : mark_(mark) { mark_ = relation; }
    ~RelationMark() { mark_ = InvalidOid; }
    RelationMark(const RelationMark&) = delete;
    RelationMark& operator=(const RelationMark&) = delete;

  private:
    Oid& mark_;
};

// Refuses callers not running as the owner of crm_core.audit_log.
void require_audit_log_owner() {
    Oid owner = crm_core::pg::relation_owner(crm_core::pg::relation_id("crm_core", "audit_log"));
    if (GetUserId() != owner) {
        throw crm_core::pg::Error(
            ERRCODE_INSUFFICIENT_PRIVILEGE,
            "only the owner of crm_core.audit_log may maintain its partitions",
            "crm_core.run_maintenance() does it through SECURITY DEFINER "
            "functions.",
            "See docs/audit.md.");
    }
}

}  // namespace

namespace crm_core::pg {

bool audit_rows_moving_from(Oid relation) noexcept {
    return default_being_emptied != InvalidOid && default_being_emptied == relation;
}

}  // namespace crm_core::pg

// crm_core._audit_retention_detach(partition): detaches a partition of crm_core.audit_log on
// behalf of retention. Only code running as the audit log's owner (a SECURITY DEFINER function
// of crm_core, or the owner itself) may call it; the event triggers then let the DETACH pass.
CRM_CORE_FUNCTION(crm_core_audit_retention_detach) {
    const Oid partition = PG_GETARG_OID(0);
    crm_core::pg::SpiConnection spi;
    require_audit_log_owner();
    static crm_core::pg::CachedPlan plan_detach(
        "SELECT format('ALTER TABLE crm_core.audit_log DETACH PARTITION %s', $1::regclass) "
        "FROM pg_catalog.pg_inherits "
        "WHERE inhrelid = $1 AND inhparent = 'crm_core.audit_log'::regclass",
        {OIDOID});
    Datum values[1] = {ObjectIdGetDatum(partition)};
    if (plan_detach.execute(values, nullptr, true, 1) == 0) {
        throw crm_core::pg::Error(ERRCODE_INVALID_PARAMETER_VALUE,
                                  "relation is not a partition of crm_core.audit_log");
    }
    const char* detach_sql = crm_core::pg::pg_call(
        [&] { return TextDatumGetCString(*crm_core::pg::result_value(0, 1)); });
    RelationMark retiring(partition_being_retired, partition);
    crm_core::pg::execute_once(detach_sql, false);
    PG_RETURN_VOID();
}

// crm_core._audit_retention_detaching(relation): whether crm_core's retention is detaching
// exactly this relation right now, in this backend.
CRM_CORE_FUNCTION(crm_core_audit_retention_detaching) {
    const Oid relation = PG_GETARG_OID(0);
    return BoolGetDatum(partition_being_retired != InvalidOid &&
                        partition_being_retired == relation);
}

// crm_core._audit_month_from_default(partition_name, lower_bound, upper_bound): creates a month
// of crm_core.audit_log whose rows already wait in audit_log_default, moving them into it in one
// statement (crm_core._create_partition); the row guards of the default partition let that
// DELETE pass. Only as the audit log's owner.
CRM_CORE_FUNCTION(crm_core_audit_month_from_default) {
    Datum values[3] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2)};
    crm_core::pg::SpiConnection spi;
    require_audit_log_owner();
    static crm_core::pg::CachedPlan plan_default(
        "SELECT 'crm_core.audit_log_default'::regclass::oid", {});
    plan_default.execute(nullptr, nullptr, true, 1);
    const Oid default_partition = DatumGetObjectId(*crm_core::pg::result_value(0, 1));
    static crm_core::pg::CachedPlan plan_create(
        "SELECT crm_core._create_partition('crm_core.audit_log', 'crm_core', $1, 'logged_at', "
        "$2, $3, 'crm_core.audit_log_default')",
        {NAMEOID, TIMESTAMPOID, TIMESTAMPOID});
    RelationMark emptying(default_being_emptied, default_partition);
    plan_create.execute(values, nullptr, false);
    PG_RETURN_VOID();
}
