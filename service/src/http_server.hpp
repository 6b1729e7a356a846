// A small HTTP/1.1 server on Boost.Beast for the service's four endpoints, hardened against
// misbehaving clients: bounded header and body sizes, a deadline for each whole request, and
// a cap on concurrent connections where idle keep-alive connections give way to new ones.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config.hpp"

namespace crm_core::service {

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

// Answers one request; called on the io_context's thread, so it must be quick (no SQL).
using HttpHandler =
    std::function<HttpResponse(const std::string& method, const std::string& target)>;

struct HttpLimits {
    std::size_t max_header_bytes;
    std::size_t max_body_bytes;
    Duration read_timeout;
    std::size_t max_connections;
};

class HttpConnection;

class HttpServer {
  public:
    // The open connections, in accept order (touched on the io_context's thread only).
    struct Registry {
        std::list<HttpConnection*> connections;
    };

    // Binds and listens at once (throws boost::system::system_error when it cannot).
    HttpServer(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
               HttpLimits limits, HttpHandler handler);
    // Starts accepting connections.
    void start();
    // Stops accepting; open connections finish or time out.
    void stop();
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  private:
    void accept();
    // Below the cap, or after reclaiming an idle connection (closing ones first, then the one
    // idle longest): true when a new connection may be served.
    bool make_room();

    boost::asio::ip::tcp::acceptor acceptor_;
    HttpLimits limits_;
    std::shared_ptr<const HttpHandler> handler_;
    std::shared_ptr<Registry> registry_;
};

}  // namespace crm_core::service
