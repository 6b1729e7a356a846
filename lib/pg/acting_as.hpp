// Running code as another role, the way a SECURITY DEFINER function or REFRESH MATERIALIZED VIEW
// does (SetUserIdAndSecContext): for the object's lifetime the current user is `role`. An error
// aborts the (sub)transaction, which restores the identity by itself; the destructor restores it
// on every path (it never ereports).
#pragma once

#include "pg_includes.hpp"

namespace crm_core::pg {

class ActingAs {
  public:
    // security_restricted: also a security-restricted operation, as PostgreSQL runs a user's code
    // on another role's behalf (no SET ROLE, no temporary objects, no WITH HOLD cursors), so that
    // the code cannot leave anything behind in the session.
    ActingAs(Oid role, bool security_restricted) {
        GetUserIdAndSecContext(&saved_user_, &saved_context_);
        SetUserIdAndSecContext(role, saved_context_ | SECURITY_LOCAL_USERID_CHANGE |
                                         (security_restricted ? SECURITY_RESTRICTED_OPERATION : 0));
    }
    ~ActingAs() { SetUserIdAndSecContext(saved_user_, saved_context_); }
    ActingAs(const ActingAs&) = delete;
    ActingAs& operator=(const ActingAs&) = delete;

  private:
    Oid saved_user_ = InvalidOid;
    int saved_context_ = 0;
};

}  // namespace crm_core::pg
