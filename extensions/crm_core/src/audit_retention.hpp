// Maintenance of crm_core.audit_log that the append-only guards let pass (audit_retention.cpp).
#pragma once

#include "pg_includes.hpp"

namespace crm_core::pg {

// Whether crm_core's maintenance is moving rows out of this relation (the audit log's default
// partition) into their month's new partition right now, in this backend.
bool audit_rows_moving_from(Oid relation) noexcept;

}  // namespace crm_core::pg
