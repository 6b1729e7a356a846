// Tenant isolation: the business a session declares (crm_core.business_id), checked against
// the grants of the session's role (the login, or the role it SET ROLE to); the trigger that
// refuses writes
// without a business, rows of another business (before any other trigger reads them) and
// TRUNCATE. Row visibility itself is the tables' row-level security policy (see
// sql/install/15_tenants.sql, 16_tenant_isolation.sql and docs/tenants.md).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crm_core/tenant.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "relation.hpp"
#include "trigger.hpp"
#include "ledger_state.hpp"
#include "spi.hpp"
#include "tenant.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/trigger.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace crm_core::pg::tenant {

namespace {

constexpr const char* kSetting = "crm_core.business_id";
constexpr const char* kServiceRole = "crm_core_service";

// The setting's value, kept by PostgreSQL's GUC machinery (SET, SET LOCAL, RESET, DISCARD).
char* business_setting = nullptr;

// Refuses a value that is not a business id when it is set (a check hook must not throw).
bool check_business_setting(char** value, void**, GucSource) {
    if (*value == nullptr || crm_core::tenant::parse_business_setting(*value).valid) {
        return true;
    }
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    GUC_check_errdetail("crm_core.business_id must be a business id (a whole number).");
    GUC_check_errhint("SET LOCAL crm_core.business_id = '42'; an empty value means no business.");
    return false;
}

// Roles granted a business, directly or through grant_business(role, NULL), per business.
std::unordered_map<int64, std::vector<Oid>> grantees_by_business;
// Whether a role sees every business.
std::unordered_map<Oid, bool> global_roles;
// The last answer of current_business(), valid while the setting and the role match.
struct LastAnswer {
    bool valid = false;
    std::string setting;
    Oid role = InvalidOid;
    std::optional<int64> business_id;
};
LastAnswer last_answer;
// crm_core.business_grant, whose changes empty the caches (looked up when they load).
Oid grant_table = InvalidOid;
bool callbacks_registered = false;
// Counts the invalidations: an answer computed while one arrived (catalog lookups process
// them) may rest on what it invalidated, so it is used but not cached.
std::uint64_t invalidations = 0;

// Forgets everything cached; never throws.
void forget_all() noexcept {
    ++invalidations;
    last_answer.valid = false;
    grantees_by_business.clear();
    global_roles.clear();
}

// On a Citus node the grants are read from this node's copy of a reference table, which
// Citus changes without telling this backend's caches: there they last one transaction.
LocalTransactionId cache_transaction = InvalidLocalTransactionId;

void forget_at_new_transaction_on_citus() {
    if (cache_transaction == MyProc->lxid) {
        return;
    }
    cache_transaction = MyProc->lxid;
    bool citus = pg_call(
        [] { return OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)); });
    if (citus) {
        forget_all();
    }
}

// A grant changed (or every relation was invalidated).
void on_relcache_invalidation(Datum, Oid relation) {
    if (relation == InvalidOid || relation == grant_table) {
        forget_all();
    }
}

// A role, its attributes or its memberships changed.
void on_role_invalidation(Datum, int, uint32) {
    forget_all();
}

void register_callbacks() {
    if (callbacks_registered) {
        return;
    }
    pg_call([] {
        CacheRegisterRelcacheCallback(on_relcache_invalidation, 0);
        CacheRegisterSyscacheCallback(AUTHOID, on_role_invalidation, 0);
        CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, on_role_invalidation, 0);
    });
    callbacks_registered = true;
}

// The roles granted this business or every business, read from crm_core.business_grant as the
// extension owner (the table has no policy; app roles have no privilege on it).
std::vector<Oid> grantees(int64 business_id) {
    auto cached = grantees_by_business.find(business_id);
    if (cached != grantees_by_business.end()) {
        return cached->second;
    }
    std::uint64_t seen = invalidations;
    std::vector<Oid> roles;
    ledger::as_extension_owner([&] {
        SpiConnection spi;
        grant_table = pg_call([] {
            return get_relname_relid("business_grant", get_namespace_oid("crm_core", false));
        });
        static CachedPlan select_grantees("SELECT crm_core._business_grantees($1)", {INT8OID});
        Datum arguments[1] = {Int64GetDatum(business_id)};
        uint64 rows = select_grantees.execute(arguments, nullptr, true);
        for (uint64 row = 0; row < rows; ++row) {
            roles.push_back(DatumGetObjectId(*result_value(row, 1)));
        }
    });
    if (seen == invalidations) {
        grantees_by_business.insert_or_assign(business_id, roles);
    }
    return roles;
}

// Whether role was granted the business, itself or through a role whose privileges it has.
bool granted(Oid role, int64 business_id) {
    for (Oid grantee : grantees(business_id)) {
        if (pg_call([&] { return has_privs_of_role(role, grantee); })) {
            return true;
        }
    }
    return false;
}

// The role's name, for messages.
std::string role_name(Oid role) {
    const char* name = pg_call([&] { return GetUserNameFromId(role, true); });
    return name != nullptr ? name : "oid " + std::to_string(role);
}

[[noreturn]] void refuse_ungranted(Oid role, int64 business_id) {
    std::string name = role_name(role);
    std::string business = std::to_string(business_id);
    throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                "role \"" + name + "\" may not act for business " + business,
                std::string(kSetting) + " is " + business + ", a business not granted to role \"" +
                    name + "\" nor to a role it inherits from.",
                "A superuser grants it with SELECT crm_core.grant_business('" + name + "', " +
                    business + ");");
}

// The table a trigger fired on, for messages.
std::string table_of(const TriggerData* data) {
    return qualified_name(data->tg_relation);
}

[[noreturn]] void refuse_without_business(const TriggerData* data) {
    throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                std::string(trigger_operation(data)) + " on " + table_of(data) +
                    " is refused: no business is set",
                "Rows of crm_core-isolated tables are written for the business in " +
                    std::string(kSetting) + " only.",
                "Begin the transaction with SET LOCAL crm_core.business_id = '<business id>'.");
}

// Where a table keeps its business key and how to read it (cached per trigger call site).
struct KeyColumn {
    int number;
    Oid type;
};

KeyColumn key_column(FunctionCallInfo fcinfo, const TriggerData* data) {
    if (fcinfo->flinfo->fn_extra != nullptr) {
        return *static_cast<KeyColumn*>(fcinfo->flinfo->fn_extra);
    }
    const Trigger* trigger = data->tg_trigger;
    const char* name = trigger->tgnargs > 0 ? trigger->tgargs[0] : "business_id";
    TupleDesc descriptor = RelationGetDescr(data->tg_relation);
    int number = pg_call([&] { return SPI_fnumber(descriptor, name); });
    if (number <= 0) {
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    table_of(data) + " has no column \"" + name + "\" for its business", "",
                    "Run crm_core.enable_tenant_isolation() again after changing the table.");
    }
    Oid type = TupleDescAttr(descriptor, number - 1)->atttypid;
    auto* cached = static_cast<KeyColumn*>(
        pg_call([&] { return MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(KeyColumn)); }));
    *cached = KeyColumn{number, type};
    fcinfo->flinfo->fn_extra = cached;
    return *cached;
}

// The business a row belongs to; std::nullopt for NULL.
std::optional<int64> row_business(HeapTuple row, TupleDesc descriptor, const KeyColumn& key) {
    bool is_null = false;
    Datum value = pg_call([&] { return heap_getattr(row, key.number, descriptor, &is_null); });
    if (is_null) {
        return std::nullopt;
    }
    return integer_datum(value, key.type);
}

}  // namespace

// Row security does not apply to superusers and BYPASSRLS roles; crm_core_service's policy
// shows every row.
bool has_global_view(Oid role) {
    register_callbacks();
    forget_at_new_transaction_on_citus();
    auto cached = global_roles.find(role);
    if (cached != global_roles.end()) {
        return cached->second;
    }
    std::uint64_t seen = invalidations;
    bool global = pg_call([&] {
        if (superuser_arg(role) || has_bypassrls_privilege(role)) {
            return true;
        }
        Oid service = get_role_oid(kServiceRole, true);
        return OidIsValid(service) && has_privs_of_role(role, service);
    });
    if (seen == invalidations) {
        global_roles.emplace(role, global);
    }
    return global;
}

void define_business_setting() {
    DefineCustomStringVariable(
        kSetting, "The business (tenant) this session or transaction acts for.",
        "Rows of crm_core-isolated tables of other businesses are invisible and refused; empty "
        "means none. Use SET LOCAL behind a transaction-pooling connection pooler.",
        &business_setting, "", PGC_USERSET, GUC_NOT_IN_SAMPLE, check_business_setting, nullptr,
        nullptr);
}

// The role asked is the session's role: the login, or the role it SET ROLE to (a member of
// it, so entitled to its grants). The role a SECURITY DEFINER function runs as is not asked:
// a definer granted every business cannot act for a business its caller was not granted.
std::optional<int64> current_business() {
    // Neither reading the setting nor the session's role can raise an error.
    const char* setting = business_setting != nullptr ? business_setting : "";
    Oid role = GetOuterUserId();
    forget_at_new_transaction_on_citus();
    if (last_answer.valid && last_answer.role == role && last_answer.setting == setting) {
        return last_answer.business_id;
    }
    register_callbacks();
    std::uint64_t seen = invalidations;
    // The check hook refused invalid values when they were set; one that slipped in anyway
    // (set before the library loaded) was dropped with a warning when it loaded. Either way
    // an invalid value reads as no business: nothing visible, every write refused.
    std::optional<int64> business = crm_core::tenant::parse_business_setting(setting).business_id;
    if (business && !has_global_view(role) && !granted(role, *business)) {
        refuse_ungranted(role, *business);
    }
    if (seen == invalidations) {
        last_answer.valid = false;
        last_answer.setting = setting;
        last_answer.role = role;
        last_answer.business_id = business;
        last_answer.valid = true;
    }
    return business;
}

}  // namespace crm_core::pg::tenant

using namespace crm_core::pg;

// crm_core.current_business(): the business in crm_core.business_id (NULL when none is set);
// 42501 when the login or its SET ROLE role was not granted it.
CRM_CORE_FUNCTION(crm_core_current_business) {
    std::optional<int64> business = tenant::current_business();
    if (!business) {
        PG_RETURN_NULL();
    }
    return Int64GetDatum(*business);
}

// Trigger AFTER ... FOR EACH STATEMENT on crm_core.business_grant: every backend forgets its
// cached grants (this one at its next command, the others when this transaction commits).
CRM_CORE_FUNCTION(crm_core_business_grants_changed) {
    TriggerData* data = trigger_data(fcinfo, "crm_core.business_grants_changed()");
    Oid table = RelationGetRelid(data->tg_relation);
    pg_call([&] { CacheInvalidateRelcacheByRelid(table); });
    return PointerGetDatum(nullptr);
}

// Trigger crm_core.tenant_guard([key column, default business_id]) on isolated tables:
// BEFORE UPDATE OR DELETE OR TRUNCATE FOR EACH STATEMENT refuses them when no business is set,
// and TRUNCATE always (it would empty every business); BEFORE INSERT OR UPDATE FOR EACH ROW
// refuses a row when no business is set or when it belongs to another business. Its name sorts
// first, so no other BEFORE trigger reads anything on behalf of a row that will be refused. Roles
// with the global view pass.
CRM_CORE_FUNCTION(crm_core_tenant_guard) {
    TriggerData* data = trigger_data(fcinfo, "crm_core.tenant_guard()");
    bool for_row = TRIGGER_FIRED_FOR_ROW(data->tg_event);
    if (!TRIGGER_FIRED_BEFORE(data->tg_event) ||
        (for_row && TRIGGER_FIRED_BY_DELETE(data->tg_event))) {
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "crm_core.tenant_guard() must run BEFORE, per statement or per inserted or "
                    "updated row");
    }
    HeapTuple row = nullptr;
    if (for_row) {
        row = TRIGGER_FIRED_BY_UPDATE(data->tg_event) ? data->tg_newtuple : data->tg_trigtuple;
    }
    if (tenant::has_global_view(GetUserId())) {
        return PointerGetDatum(row);
    }
    if (TRIGGER_FIRED_BY_TRUNCATE(data->tg_event)) {
        throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "TRUNCATE on " + tenant::table_of(data) +
                        " is refused: it would remove the rows of every business",
                    "",
                    "DELETE the current business's rows, or truncate as a role with the "
                    "global view (see docs/tenants.md).");
    }
    std::optional<int64> business = tenant::current_business();
    if (!business) {
        tenant::refuse_without_business(data);
    }
    if (!for_row) {
        return PointerGetDatum(nullptr);
    }
    tenant::KeyColumn key = tenant::key_column(fcinfo, data);
    std::optional<int64> owner =
        tenant::row_business(row, RelationGetDescr(data->tg_relation), key);
    if (owner != business) {
        std::string belongs =
            owner ? "belongs to business " + std::to_string(*owner) : "belongs to no business";
        throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    std::string(trigger_operation(data)) + " on " + tenant::table_of(data) +
                        " is refused: the row " + belongs +
                        ", this transaction acts for business " + std::to_string(*business),
                    "", "Write rows of the business in crm_core.business_id.");
    }
    return PointerGetDatum(row);
}
