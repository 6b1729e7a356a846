// Which endpoint an HTTP request asks for (pure logic, shared by the server and its tests).
#pragma once

#include <string_view>

namespace crm_core::service {

enum class Endpoint { livez, readyz, healthz, metrics, not_found, method_not_allowed };

// GET and HEAD on the four paths (a query string is ignored); 404 before 405, as a path
// that does not exist has no methods to allow.
inline Endpoint route(std::string_view method, std::string_view target) {
    std::string_view path = target.substr(0, target.find('?'));
    Endpoint endpoint = path == "/livez"     ? Endpoint::livez
                        : path == "/readyz"  ? Endpoint::readyz
                        : path == "/healthz" ? Endpoint::healthz
                        : path == "/metrics" ? Endpoint::metrics
                                             : Endpoint::not_found;
    if (endpoint != Endpoint::not_found && method != "GET" && method != "HEAD") {
        return Endpoint::method_not_allowed;
    }
    return endpoint;
}

}  // namespace crm_core::service
