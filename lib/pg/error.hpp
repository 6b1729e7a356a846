// The C++ side of the error boundary: an exception that carries a PostgreSQL SQLSTATE.
#pragma once

#include <stdexcept>
#include <string>

namespace crm_core::pg {

// Where PostgreSQL raised an error and what it was doing: what pg_call() keeps of an ERROR so
// the client sees it re-raised exactly as PostgreSQL reported it (VERBOSITY verbose shows the
// LOCATION, every client the CONTEXT).
struct ErrorOrigin {
    std::string filename;
    int lineno = 0;
    std::string funcname;
    std::string context;
    std::string internal_query;
    int internal_position = 0;
    int cursor_position = 0;
    const char* domain = nullptr;          // message domains are static strings
    const char* context_domain = nullptr;  // in PostgreSQL's or a library's text segment
    bool output_to_server = true;
    bool output_to_client = true;
    bool hide_statement = false;
    bool hide_context = false;
};

// An error for the client: thrown by our C++ code, or by pg_call() when PostgreSQL raised one.
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

    // Set when PostgreSQL raised the error (pg_call()); the boundary then re-raises it with its
    // original location and context instead of reporting it as a new error of its own.
    bool from_postgres = false;
    ErrorOrigin origin;

  private:
    int sqlstate_;
    std::string detail_;
    std::string hint_;
};

}  // namespace crm_core::pg
