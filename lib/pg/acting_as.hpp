// Acting as another role for a scope: the one way crm_core's C++ code runs SQL under an
// identity other than the caller's, as a SECURITY DEFINER function or REFRESH MATERIALIZED
// VIEW does (SetUserIdAndSecContext).
#pragma once

#include <initializer_list>

#include "pg_call.hpp"
#include "relation.hpp"

namespace crm_core::pg {

// A setting changed for the scope only.
struct ScopedSetting {
    const char* name;
    const char* value;
};

// Switches the current user to `role` until the object goes out of scope, and restores the
// caller's identity (and settings) afterwards.
//
// - Mode::definer is a SECURITY DEFINER function's switch: the role's privileges, nothing else
//   restricted. For crm_core's own statements run as the extension owner.
// - Mode::restricted is what VACUUM, REINDEX and REFRESH MATERIALIZED VIEW do on a user's
//   table: the owner's identity inside SECURITY_RESTRICTED_OPERATION (no SET ROLE, no
//   temporary objects, no WITH HOLD cursors: the code cannot leave anything behind in the
//   session). For code another role wrote: CHECK constraints, index expressions, triggers, a
//   summary's query, a registered job.
//
// `settings` apply inside the scope only: pin search_path to "pg_catalog, pg_temp" for
// crm_core's own SQL, give a user's query the search_path it was written for. With settings,
// every setting the code inside changes is undone at the end too (in restricted mode even a
// plain SET, as REFRESH does; in definer mode as a SECURITY DEFINER function keeps them).
//
// On an error inside the scope the (sub)transaction abort undoes the switch and the settings as
// well; the destructor restores both in either case: it only pops PostgreSQL's setting stack
// (AtEOXact_GUC, which never raises: assign hooks must not fail) and resets the user id.
class ActingAs {
  public:
    enum class Mode { definer, restricted };

    ActingAs(Oid role, Mode mode, std::initializer_list<ScopedSetting> settings = {});
    // The same without settings; security_restricted chooses Mode::restricted.
    ActingAs(Oid role, bool security_restricted)
        : ActingAs(role, security_restricted ? Mode::restricted : Mode::definer) {}
    ~ActingAs();
    ActingAs(const ActingAs&) = delete;
    ActingAs& operator=(const ActingAs&) = delete;

  private:
    Mode mode_;
    Oid saved_user_ = InvalidOid;
    int saved_context_ = 0;
    int setting_level_ = 0;  // 0: no settings, nothing to pop
};

}  // namespace crm_core::pg
