// The shared library refuses to run against SQL objects of another version (as Citus's
// CheckCitusVersion does): after a package upgrade replaced the library, nothing runs until
// ALTER EXTENSION ... UPDATE; a session that kept an older library loaded after the update is
// told to reconnect. Every CRM_CORE_FUNCTION checks on entry.
#pragma once

#include "pg_includes.hpp"

namespace crm_core::pg {

// Set once this backend found the installed SQL version equal to the library's; cleared when
// pg_proc changes (CREATE, ALTER or DROP EXTENSION replace functions). Local to each library.
extern bool installed_version_matches;

// The slow path of require_installed_version: looks the version up and ereports on mismatch.
void check_installed_version(const char* extension, const char* library_version);

// ereports ERROR (55000) when `extension`'s installed version (pg_extension.extversion) is not
// `library_version`, except while CREATE or ALTER EXTENSION of it runs its scripts. Costs one
// branch once the versions were found equal. Call only from a frame without C++ objects.
inline void require_installed_version(const char* extension, const char* library_version) {
    if (likely(installed_version_matches)) {
        return;
    }
    check_installed_version(extension, library_version);
}

}  // namespace crm_core::pg
