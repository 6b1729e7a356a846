// The version of crm_core. Its one source is default_version in
// extensions/crm_core/crm_core.control: the PGXS and CMake builds pass it as CRM_CORE_VERSION.
#pragma once

#ifndef CRM_CORE_VERSION
#error "CRM_CORE_VERSION is not set: build with make (PGXS) or cmake, which read crm_core.control"
#endif

namespace crm_core {

inline constexpr const char* kVersion = CRM_CORE_VERSION;

}  // namespace crm_core
