// The library/SQL version check (see installed_version.hpp). Plain C-style code: it ereports,
// so no C++ object lives in these frames.
#include "installed_version.hpp"

#include "crm_core/version_order.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace crm_core::pg {

bool installed_version_matches = false;

namespace {

bool forget_callback_registered = false;

// Any change to pg_proc may come from CREATE, ALTER or DROP EXTENSION (in this session or
// another): check again on the next call.
void forget_installed_version(Datum, int, uint32) {
    installed_version_matches = false;
}

// pg_extension.extversion of `extension` in the current memory context, or nullptr when the
// extension is not installed (e.g. DROP EXTENSION is under way).
char* installed_version(const char* extension) {
    ScanKeyData key[1];
    ScanKeyInit(&key[0], Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
                CStringGetDatum(extension));
    Relation catalog = table_open(ExtensionRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(catalog, ExtensionNameIndexId, true, nullptr, 1, key);
    char* version = nullptr;
    HeapTuple tuple = systable_getnext(scan);
    if (HeapTupleIsValid(tuple)) {
        bool is_null = false;
        Datum value =
            heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(catalog), &is_null);
        if (!is_null) {
            version = TextDatumGetCString(value);
        }
    }
    systable_endscan(scan);
    table_close(catalog, AccessShareLock);
    return version;
}

}  // namespace

void check_installed_version(const char* extension, const char* library_version) {
    // pg_upgrade restores the catalog as it was; the extension's own scripts (CREATE EXTENSION,
    // ALTER EXTENSION ... UPDATE through intermediate versions) call the new library by design.
    if (IsBinaryUpgrade ||
        (creating_extension && CurrentExtensionObject == get_extension_oid(extension, true))) {
        return;
    }
    if (!forget_callback_registered) {
        CacheRegisterSyscacheCallback(PROCOID, forget_installed_version, 0);
        forget_callback_registered = true;
    }
    const char* installed = installed_version(extension);
    if (installed == nullptr || strcmp(installed, library_version) == 0) {
        // Not installed: no SQL object to disagree with (only DROP EXTENSION gets here).
        installed_version_matches = installed != nullptr;
        return;
    }
    if (compare_versions(library_version, installed) > 0) {
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("%s library %s does not match the installed SQL %s", extension,
                        library_version, installed),
                 errdetail("The %s %s package replaced the shared library; the SQL objects in "
                           "this database are still those of %s.",
                           extension, library_version, installed),
                 errhint("Run ALTER EXTENSION %s UPDATE in this database (as a superuser).",
                         extension)));
    }
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("%s library %s does not match the installed SQL %s", extension,
                           library_version, installed),
                    errdetail("This session loaded the %s library before the extension was updated "
                              "to %s, or an older package is installed.",
                              library_version, installed),
                    errhint("Reconnect; if the error persists, install the %s %s package.",
                            extension, installed)));
}

}  // namespace crm_core::pg
