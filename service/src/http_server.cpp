// The Beast HTTP server (see http_server.hpp).
#include "http_server.hpp"

#include <array>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace crm_core::service {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// One client connection: reads requests one at a time (keep-alive), answers each, and
// closes on any error, limit or deadline.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(tcp::socket socket, const HttpLimits& limits,
               std::shared_ptr<const HttpHandler> handler,
               std::shared_ptr<std::atomic<std::size_t>> open_connections)
        : stream_(std::move(socket)),
          buffer_(limits.max_header_bytes + limits.max_body_bytes),
          limits_(limits),
          handler_(std::move(handler)),
          open_connections_(std::move(open_connections)) {}

    ~Connection() { --*open_connections_; }

    // Reads the next request under one deadline and the size limits.
    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
        parser_->body_limit(limits_.max_body_bytes);
        // One deadline for the whole request, so a client trickling bytes cannot hold on.
        stream_.expires_after(limits_.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) {
                             self->on_read(error);
                         });
    }

  private:
    // Answers a complete request, or turns a limit hit into its status code.
    void on_read(beast::error_code error) {
        if (error == http::error::header_limit || error == http::error::buffer_overflow) {
            return respond_and_close(431, "request header too large\n");
        }
        if (error == http::error::body_limit) {
            return respond_and_close(413, "request body too large\n");
        }
        if (error) {
            // End of stream, reset, malformed request, or the deadline passed (then the
            // stream has already closed the socket: a slow client gets no answer at all).
            return close();
        }
        const auto& request = parser_->get();
        HttpResponse answer =
            (*handler_)(std::string(request.method_string()), std::string(request.target()));
        send(answer, request.keep_alive(), request.method() == http::verb::head);
    }

    // Answers an unreadable request and hangs up.
    void respond_and_close(unsigned status, const char* body) {
        send(HttpResponse{status, "text/plain; charset=utf-8", body}, false, false);
    }

    // Writes an answer; keeps the connection for the next request if both sides want.
    void send(const HttpResponse& answer, bool keep_alive, bool head) {
        response_ = {};
        response_.version(11);
        response_.result(answer.status);
        response_.set(http::field::server, "crm-core-service");
        response_.set(http::field::content_type, answer.content_type);
        response_.set(http::field::cache_control, "no-store");
        if (answer.status == 405) {
            response_.set(http::field::allow, "GET, HEAD");
        }
        response_.keep_alive(keep_alive);
        response_.body() = answer.body;
        response_.prepare_payload();
        if (head) {
            response_.body().clear();  // Content-Length stays that of the GET answer
        }
        stream_.expires_after(limits_.read_timeout);
        http::async_write(
            stream_, response_,
            [self = shared_from_this(), keep_alive](beast::error_code error, std::size_t) {
                if (error || !keep_alive) {
                    return self->close();
                }
                self->read();
            });
    }

    // Lingering close: stop sending, then read and discard what the client still sends until
    // it hangs up or the deadline passes, so that an answer to an oversized request is not
    // lost to a TCP reset while the client is still writing.
    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(limits_.read_timeout);
        drain();
    }

    // Discards input until the client hangs up or the deadline passes.
    void drain() {
        stream_.async_read_some(boost::asio::buffer(discard_),
                                [self = shared_from_this()](beast::error_code error, std::size_t) {
                                    if (error) {
                                        beast::error_code ignored;
                                        self->stream_.socket().close(ignored);
                                        return;
                                    }
                                    self->drain();
                                });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    HttpLimits limits_;
    std::shared_ptr<const HttpHandler> handler_;
    std::shared_ptr<std::atomic<std::size_t>> open_connections_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    std::array<char, 4096> discard_;
};

}  // namespace

HttpServer::HttpServer(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
                       HttpLimits limits, HttpHandler handler)
    : acceptor_(io, tcp::endpoint(boost::asio::ip::make_address(address), port)),
      limits_(limits),
      handler_(std::make_shared<const HttpHandler>(std::move(handler))),
      open_connections_(std::make_shared<std::atomic<std::size_t>>(0)) {}

void HttpServer::start() {
    accept();
}

void HttpServer::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

void HttpServer::accept() {
    acceptor_.async_accept([this](boost::system::error_code error, tcp::socket socket) {
        if (error == boost::asio::error::operation_aborted || !acceptor_.is_open()) {
            return;
        }
        if (!error) {
            if (open_connections_->load() >= limits_.max_connections) {
                // Over the cap: refuse at once rather than queue; clients retry.
                boost::system::error_code ignored;
                socket.close(ignored);
            } else {
                ++*open_connections_;
                std::make_shared<Connection>(std::move(socket), limits_, handler_,
                                             open_connections_)
                    ->read();
            }
        }
        accept();
    });
}

}  // namespace crm_core::service
