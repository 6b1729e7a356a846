// The Beast HTTP server (see http_server.hpp).
#include "http_server.hpp"

#include <array>
#include <chrono>
#include <list>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace crm_core::service {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// One client connection: waits for a request (idle), reads it under one deadline and the size
// limits, answers, and waits for the next one (keep-alive); closes on any error, limit or
// deadline. An idle connection gives up its place when the server is full (reclaim()).
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
  public:
    HttpConnection(tcp::socket socket, const HttpLimits& limits,
                   std::shared_ptr<const HttpHandler> handler,
                   std::shared_ptr<HttpServer::Registry> registry)
        : stream_(std::move(socket)),
          buffer_(limits.max_header_bytes + limits.max_body_bytes),
          limits_(limits),
          handler_(std::move(handler)),
          registry_(std::move(registry)),
          position_(registry_->connections.insert(registry_->connections.end(), this)) {}

    ~HttpConnection() { forget(); }

    // Waits for the next request; an idle connection holds no request in hand.
    void wait_for_request() {
        if (buffer_.size() > 0) {
            return read_request();  // the client sent it already (pipelining)
        }
        state_ = State::idle;
        idle_since_ = std::chrono::steady_clock::now();
        stream_.expires_after(limits_.read_timeout);
        std::size_t room = std::min<std::size_t>(kFirstRead, buffer_.max_size());
        stream_.async_read_some(buffer_.prepare(room), [self = shared_from_this()](
                                                           beast::error_code error, std::size_t n) {
            if (self->state_ == State::reclaimed) {
                return;
            }
            if (error) {
                return self->close();
            }
            self->buffer_.commit(n);
            self->read_request();
        });
    }

    // Whether the server may take this connection's place: it waits for a request, or is
    // closing anyway.
    bool reclaimable() const { return state_ == State::idle || state_ == State::closing; }
    // Closing ones go first, then the longest idle.
    bool reclaim_before(const HttpConnection& other) const {
        if ((state_ == State::closing) != (other.state_ == State::closing)) {
            return state_ == State::closing;
        }
        return idle_since_ < other.idle_since_;
    }

    // Closes at once and gives the place up: the server is full and this one only waits.
    void reclaim() {
        state_ = State::reclaimed;
        forget();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
    }

  private:
    enum class State { idle, busy, closing, reclaimed };
    static constexpr std::size_t kFirstRead = 1024;

    // Reads the rest of a request under one deadline and the size limits.
    void read_request() {
        state_ = State::busy;
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
        parser_->body_limit(limits_.max_body_bytes);
        // One deadline for the whole request, so a client trickling bytes cannot hold on.
        stream_.expires_after(limits_.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) {
                             if (self->state_ != State::reclaimed) {
                                 self->on_read(error);
                             }
                         });
    }

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
                if (self->state_ == State::reclaimed) {
                    return;
                }
                if (error || !keep_alive) {
                    return self->close();
                }
                self->wait_for_request();
            });
    }

    // Lingering close: stop sending, then read and discard what the client still sends until
    // it hangs up or the deadline passes, so that an answer to an oversized request is not
    // lost to a TCP reset while the client is still writing.
    void close() {
        state_ = State::closing;
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(limits_.read_timeout);
        drain();
    }

    // Discards input until the client hangs up or the deadline passes.
    void drain() {
        stream_.async_read_some(boost::asio::buffer(discard_),
                                [self = shared_from_this()](beast::error_code error, std::size_t) {
                                    if (self->state_ == State::reclaimed) {
                                        return;
                                    }
                                    if (error) {
                                        beast::error_code ignored;
                                        self->stream_.socket().close(ignored);
                                        return;
                                    }
                                    self->drain();
                                });
    }

    // Leaves the registry (once): the connection no longer counts against the cap.
    void forget() {
        if (registered_) {
            registry_->connections.erase(position_);
            registered_ = false;
        }
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    HttpLimits limits_;
    std::shared_ptr<const HttpHandler> handler_;
    std::shared_ptr<HttpServer::Registry> registry_;
    std::list<HttpConnection*>::iterator position_;
    bool registered_ = true;
    State state_ = State::idle;
    std::chrono::steady_clock::time_point idle_since_ = std::chrono::steady_clock::now();
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    std::array<char, 4096> discard_;
};

HttpServer::HttpServer(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
                       HttpLimits limits, HttpHandler handler)
    : acceptor_(io, tcp::endpoint(boost::asio::ip::make_address(address), port)),
      limits_(limits),
      handler_(std::make_shared<const HttpHandler>(std::move(handler))),
      registry_(std::make_shared<Registry>()) {}

void HttpServer::start() {
    accept();
}

void HttpServer::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

bool HttpServer::make_room() {
    if (registry_->connections.size() < limits_.max_connections) {
        return true;
    }
    HttpConnection* victim = nullptr;
    for (HttpConnection* connection : registry_->connections) {
        if (connection->reclaimable() &&
            (victim == nullptr || connection->reclaim_before(*victim))) {
            victim = connection;
        }
    }
    if (victim == nullptr) {
        return false;  // every place holds a request in hand
    }
    victim->reclaim();
    return true;
}

void HttpServer::accept() {
    acceptor_.async_accept([this](boost::system::error_code error, tcp::socket socket) {
        if (error == boost::asio::error::operation_aborted || !acceptor_.is_open()) {
            return;
        }
        if (!error) {
            if (make_room()) {
                std::make_shared<HttpConnection>(std::move(socket), limits_, handler_, registry_)
                    ->wait_for_request();
            } else {
                // Over the cap with no idle connection to reclaim: refuse at once rather than
                // queue; clients retry.
                boost::system::error_code ignored;
                socket.close(ignored);
            }
        }
        accept();
    });
}

}  // namespace crm_core::service
