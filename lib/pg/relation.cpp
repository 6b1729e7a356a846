#include "relation.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace crm_core::pg {

Oid relation_id(const char* schema, const char* name) {
    Oid relation =
        pg_call([&] { return get_relname_relid(name, get_namespace_oid(schema, false)); });
    if (relation == InvalidOid) {
        throw Error(ERRCODE_UNDEFINED_TABLE,
                    std::string("relation ") + schema + "." + name + " does not exist");
    }
    return relation;
}

Oid relation_owner(Oid relation) {
    bool found = false;
    Oid owner = pg_call([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relation));
        if (!HeapTupleIsValid(tuple)) {
            return InvalidOid;
        }
        found = true;
        Oid result = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return result;
    });
    if (!found) {
        throw Error(ERRCODE_UNDEFINED_TABLE,
                    "relation with OID " + std::to_string(relation) + " does not exist");
    }
    return owner;
}

Oid schema_owner(const char* schema) {
    return pg_call([&] {
        Oid namespace_oid = get_namespace_oid(schema, false);
        HeapTuple tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(namespace_oid));
        if (!HeapTupleIsValid(tuple)) {
            elog(ERROR, "cache lookup failed for schema %s", schema);
        }
        Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

std::string qualified_name(Oid relation) {
    return pg_call([&] {
        return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relation)),
                                          get_rel_name(relation));
    });
}

std::string qualified_name(Relation relation) {
    Oid namespace_oid = RelationGetNamespace(relation);
    const char* relation_name = RelationGetRelationName(relation);
    return pg_call([&] {
        return quote_qualified_identifier(get_namespace_name(namespace_oid), relation_name);
    });
}

}  // namespace crm_core::pg
