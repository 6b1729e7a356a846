// The C++ side of the error boundary: an exception that carries a PostgreSQL SQLSTATE.
#pragma once

#include <stdexcept>
#include <string>

namespace crm_core::pg {

// An error for the client: thrown by our C++ code, or by guard() when PostgreSQL raised one.
class Error : public std::runtime_error {
  public:
    Error(int sqlstate, const std::string& message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message),
          sqlstate_(sqlstate),
          detail_(std::move(detail)),
          hint_(std::move(hint)) {}

    int sqlstate() const noexcept { return sqlstate_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

    // Diagnostic fields PostgreSQL reports (constraint, table ...); empty when unknown.
    std::string schema_name;
    std::string table_name;
    std::string column_name;
    std::string datatype_name;
    std::string constraint_name;
    std::string context;

  private:
    int sqlstate_;
    std::string detail_;
    std::string hint_;
};

}  // namespace crm_core::pg
