// Retention of crm_core.audit_log: the DDL event triggers refuse DETACH of a guarded partition
// to everyone but a superuser; crm_core's own retention code, running as the owner of the
// audit log, is the one other caller allowed to detach one, and only while it does so.
#include "function.hpp"
#include "spi.hpp"

namespace {

// The audit partition crm_core's retention is detaching in this backend, or InvalidOid.
Oid partition_being_retired = InvalidOid;

// Marks a partition as being retired for the lifetime of the object (also when DETACH fails).
class RetirementScope {
  public:
    explicit RetirementScope(Oid partition) { partition_being_retired = partition; }
    ~RetirementScope() { partition_being_retired = InvalidOid; }
    RetirementScope(const RetirementScope&) = delete;
    RetirementScope& operator=(const RetirementScope&) = delete;
};

}  // namespace

// crm_core._audit_retention_detach(partition): detaches a partition of crm_core.audit_log on
// behalf of retention. Only code running as the audit log's owner (a SECURITY DEFINER function
// of crm_core, or the owner itself) may call it; the event triggers then let the DETACH pass.
CRM_CORE_FUNCTION(crm_core_audit_retention_detach) {
    const Oid partition = PG_GETARG_OID(0);
    const Oid current_user = GetUserId();
    crm_core::pg::SpiConnection spi;
    static crm_core::pg::CachedPlan plan_detach(
        "SELECT a.relowner = $2, format('ALTER TABLE crm_core.audit_log DETACH PARTITION %s', "
        "$1::regclass) FROM pg_catalog.pg_class AS a "
        "WHERE a.oid = 'crm_core.audit_log'::regclass AND EXISTS ("
        "SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = $1 AND inhparent = a.oid)",
        {OIDOID, OIDOID});
    Datum values[2] = {ObjectIdGetDatum(partition), ObjectIdGetDatum(current_user)};
    if (plan_detach.execute(values, nullptr, true, 1) == 0) {
        throw crm_core::pg::Error(ERRCODE_INVALID_PARAMETER_VALUE,
                                  "relation is not a partition of crm_core.audit_log");
    }
    if (!DatumGetBool(*crm_core::pg::result_value(0, 1))) {
        throw crm_core::pg::Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                                  "only the owner of crm_core.audit_log may retire its partitions",
                                  "crm_core.run_maintenance() retires them through a SECURITY "
                                  "DEFINER function.",
                                  "See docs/audit.md.");
    }
    const char* detach_sql =
        crm_core::pg::guard([&] { return TextDatumGetCString(*crm_core::pg::result_value(0, 2)); });
    RetirementScope retiring(partition);
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
