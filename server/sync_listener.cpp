// The sync listener: TLS handshake (wss), HTTP upgrade checks, then a beast_server_websocket per
// WebSocket owned by a connection actor. Everything here runs on Asio threads and talks to actors
// only by anon_send through a weak actor address.
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <caf/all.hpp>
#include <cctype>
#include <deque>
#include <optional>

#include <actorsync/server/server_tuning.hpp>
#include "protocol/codec.hpp"
#include "server/connection_actor.hpp"
#include "server/listeners.hpp"
#include "server/server_messages.hpp"
#include "server/tcp_acceptor.hpp"

namespace actorsync::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

using tuning::read_chunk_bytes;
using tuning::upgrade_header_limit;

std::atomic<std::uint64_t> next_connection_id{1};

struct listener_env {
  caf::actor_system* system;
  realm_directory_actor directory;
  context_ptr context;
  std::shared_ptr<ssl::context> tls;  ///< null for ws://
};

std::string_view as_std(beast::string_view s) {
  return {s.data(), s.size()};
}

bool offers_subprotocol(std::string_view header) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == protocol::subprotocol) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

// Why an upgrade was refused, for machines: the X-Actorsync-Reason header of the HTTP answer
// (docs/protocol.md §1). Where a protocol error code means the same, the reason is its name.
namespace refusal_reason {
constexpr std::string_view not_websocket_upgrade = "not_websocket_upgrade";
constexpr std::string_view wrong_protocol_version = "wrong_protocol_version";
constexpr std::string_view bad_authentication = "bad_authentication";
constexpr std::string_view token_expired = "token_expired";
constexpr std::string_view headers_too_large = "headers_too_large";
constexpr std::string_view too_many_connections = "too_many_connections";
}  // namespace refusal_reason

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The token of `Authorization: Bearer <token>`; the scheme name is case-insensitive (RFC 7235).
// Empty when the header is absent or names another scheme.
std::string_view bearer_token(std::string_view header) {
  const auto space = header.find(' ');
  if (space == std::string_view::npos || !equals_ignoring_case(header.substr(0, space), "bearer"))
    return {};
  auto token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
}

template <class Stream>
constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

// One WebSocket over `Next` (beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>).
template <class Next>
class beast_server_websocket final
    : public server_websocket,
      public std::enable_shared_from_this<beast_server_websocket<Next>> {
 public:
  template <class... Args>
  beast_server_websocket(listener_env env, std::string peer, Args&&... args)
      : env_(std::move(env)),
        peer_(std::move(peer)),
        ws_(std::forward<Args>(args)...),
        frame_timer_(ws_.get_executor()) {}
  ~beast_server_websocket() override {
    if (account_) account_->release(charged_);
    if (pending_ticket_ != 0) env_.context->pending->remove(pending_ticket_);
  }

  void start() {
    // Until upgraded it is one of the pending sockets; when too many are, the oldest goes.
    std::weak_ptr<beast_server_websocket> weak = this->shared_from_this();
    pending_ticket_ = env_.context->pending->add([weak] {
      if (auto self = weak.lock()) {
        net::post(self->ws_.get_executor(), [self] {
          spdlog::debug("{} dropped before its upgrade to admit a newer connection", self->peer_);
          beast::error_code ignored;
          beast::get_lowest_layer(self->ws_).socket().close(ignored);
        });
      }
    });
    beast::get_lowest_layer(ws_).expires_after(env_.context->options.upgrade_timeout);
    if constexpr (is_tls<Next>) {
      ws_.next_layer().async_handshake(
          ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) {
              spdlog::info("TLS handshake with {} failed: {}", self->peer_, ec.message());
              return;
            }
            self->read_upgrade();
          });
    } else {
      read_upgrade();
    }
  }

  // ---- server_websocket (called by the connection actor from any thread) ----
  void read_next() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      ++self->read_credit_;
      if (!self->reading_) self->start_read();
    });
  }
  void write(frame_ptr frame) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), frame = std::move(frame)] {
      self->writes_.push_back(std::move(frame));
      if (self->writes_.size() == 1) self->write_front();
    });
  }
  void close(std::uint16_t code, std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), code, reason] {
      if (!self->ws_.is_open()) return self->report_closed("already closed");
      self->ws_.async_close(
          websocket::close_reason(static_cast<websocket::close_code>(code),
                                  beast::string_view(reason.data(), reason.size())),
          [self](beast::error_code ec) {
            self->report_closed(ec ? "close: " + ec.message() : "closed");
            beast::error_code ignored;
            beast::get_lowest_layer(self->ws_).socket().close(ignored);
          });
    });
  }
  void abort() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
      self->report_closed("aborted");
    });
  }
  const std::string& peer() const override { return peer_; }

 private:
  template <class Message>
  void notify(Message message) {
    if (auto actor = caf::actor_cast<connection_actor>(actor_))
      caf::anon_send(actor, std::move(message));
  }

  void report_closed(std::string reason) {
    if (closed_reported_) return;
    closed_reported_ = true;
    frame_timer_.cancel();  // its handler would hold this socket (and its buffer) until it fires
    notify(websocket_closed{std::move(reason)});
  }

  // Frames are read while the actor has granted credit, so a frame already in the socket buffer
  // is read without waiting for the actor to ask (a round trip through a busy scheduler).
  void start_read() {
    reading_ = true;
    frame_.clear();
    read_header();
  }

  // Reads into an empty buffer: completes once the message's first frame header is parsed,
  // before any payload byte is taken (and, for a text message, UTF-8 validated). A text message
  // is reported and reading stops; a binary one is read on. The empty buffer points at a real
  // byte: Beast 1.74's UTF-8 checker dereferences the pointer of an empty text chunk.
  void read_header() {
    ws_.async_read_some(net::mutable_buffer(&header_peek_, 0),
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) return self->report_closed("read: " + ec.message());
                          if (self->ws_.got_text()) return self->notify(websocket_text_frame{});
                          if (self->ws_.is_message_done()) return self->deliver_frame();  // empty
                          self->start_frame_timer();
                          self->read_some();
                        });
  }

  // Writes the queued frames back to back on the strand: the next write does not wait for the
  // actor to hear about the previous one. Each completion is still reported, in order.
  void write_front() {
    const auto& frame = writes_.front();
    ws_.async_write(net::buffer(*frame),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec) return self->report_closed("write failed: " + ec.message());
                      self->writes_.pop_front();
                      self->notify(websocket_written{});
                      if (!self->writes_.empty()) self->write_front();
                    });
  }

  // Reads the next message piece by piece so that an oversized frame is noticed at the limit
  // and answered with a typed ERROR instead of Beast's bare close. Into a prepared buffer, not
  // the dynamic-buffer overload: after read_header() has parsed a final frame with no payload
  // left, that overload's size hint asserts in Beast 1.74 (rd_remain > 0; found by the server
  // fuzzer, corpus entry tests/fuzz/corpus/server/empty_final_frame_after_header).
  void read_some() {
    ws_.async_read_some(frame_.prepare(read_chunk_bytes),
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                          if (ec) return self->report_closed("read: " + ec.message());
                          self->frame_.commit(n);
                          self->charge_frame_buffer();
                          if (self->frame_.size() > self->env_.context->options.max_frame_bytes) {
                            return self->notify(websocket_oversized{self->frame_.size()});
                          }
                          if (!self->ws_.is_message_done()) return self->read_some();
                          self->deliver_frame();
                        });
  }

  // A frame has started: it must be complete within the frame timeout, so that a peer that
  // stops mid-frame cannot pin its buffer until the idle timeout.
  void start_frame_timer() {
    frame_timer_.expires_after(env_.context->options.frame_timeout);
    frame_timer_.async_wait(
        [self = this->shared_from_this(), started = frame_number_](beast::error_code ec) {
          if (ec || self->frame_number_ != started) return;
          self->notify(websocket_frame_timeout{self->frame_.size()});
        });
  }

  // Keeps the account charged with what the frame buffer holds (its capacity, not its size).
  void charge_frame_buffer() {
    const auto capacity = frame_.capacity();
    if (capacity > charged_) account_->charge(capacity - charged_);
    if (capacity < charged_) account_->release(charged_ - capacity);
    charged_ = capacity;
  }

  void deliver_frame() {
    auto data = frame_.data();
    auto bytes = std::make_shared<std::vector<std::uint8_t>>(net::buffers_begin(data),
                                                             net::buffers_end(data));
    account_->charge(bytes->size());  // released by the actor once it decoded the frame
    ++frame_number_;
    frame_timer_.cancel();
    frame_.clear();
    // A buffer grown by one large frame is not kept for the connection's lifetime.
    if (frame_.capacity() > 2 * read_chunk_bytes) frame_.shrink_to_fit();
    charge_frame_buffer();
    reading_ = false;
    --read_credit_;
    notify(websocket_frame{std::move(bytes)});
    if (read_credit_ > 0) start_read();
  }

  void read_upgrade() {
    parser_.emplace();
    parser_->header_limit(upgrade_header_limit);
    parser_->body_limit(0);
    http::async_read(ws_.next_layer(), buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec == http::error::header_limit) {
                         return self->refuse(http::status::request_header_fields_too_large,
                                             refusal_reason::headers_too_large,
                                             "request headers larger than " +
                                                 std::to_string(upgrade_header_limit) + " bytes");
                       }
                       if (ec) return;  // not HTTP, timed out or gone: just drop it
                       self->check_upgrade();
                     });
  }

  void check_upgrade() {
    auto& request = parser_->get();
    const auto& options = env_.context->options;
    if (!websocket::is_upgrade(request)) {
      return refuse(
          http::status::bad_request, refusal_reason::not_websocket_upgrade,
          "expected a WebSocket upgrade (subprotocol " + std::string(protocol::subprotocol) + ")");
    }
    if (!offers_subprotocol(as_std(request[http::field::sec_websocket_protocol]))) {
      return refuse(http::status::bad_request, refusal_reason::wrong_protocol_version,
                    "unsupported subprotocol, expected " + std::string(protocol::subprotocol));
    }
    if (request.count(http::field::authorization) > 1) {
      return refuse(http::status::bad_request, refusal_reason::bad_authentication,
                    "more than one Authorization header");
    }
    const auto token = bearer_token(as_std(request[http::field::authorization]));
    if (token.empty()) {
      return refuse(http::status::unauthorized, refusal_reason::bad_authentication,
                    "missing bearer token in the Authorization header");
    }
    auto verified = env_.context->tokens.verify(token, unix_now());
    if (!verified) {
      const auto code = verified.error->code;
      return refuse(
          http::status::unauthorized,
          code == token_errc::expired ? refusal_reason::token_expired
                                      : refusal_reason::bad_authentication,
          "token refused (" + std::string(to_string(code)) + "): " + verified.error->reason);
    }
    if (static_cast<std::size_t>(env_.context->metrics->connections.load()) >=
        env_.context->connection_limit) {
      return refuse(http::status::service_unavailable, refusal_reason::too_many_connections,
                    "too many connections");
    }
    beast::get_lowest_layer(ws_).expires_never();
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = tuning::websocket_idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::sec_websocket_protocol,
                   beast::string_view(protocol::subprotocol.data(), protocol::subprotocol.size()));
      response.set(http::field::server, "actorsync-server");
    }));
    ws_.read_message_max(options.max_frame_bytes + read_chunk_bytes);
    ws_.binary(true);
    ws_.async_accept(request, [self = this->shared_from_this(),
                               claims = std::move(*verified.claims)](beast::error_code ec) mutable {
      if (ec) return;
      self->open(std::move(claims));
    });
  }

  void open(token_claims claims) {
    env_.context->pending->remove(std::exchange(pending_ticket_, 0));
    const auto id = next_connection_id.fetch_add(1);
    std::weak_ptr<beast_server_websocket> weak_for_shed = this->shared_from_this();
    account_ = env_.context->budget->open_account([weak_for_shed] {
      if (auto self = weak_for_shed.lock())
        net::post(self->ws_.get_executor(), [self] { self->notify(memory_shed{}); });
    });
    auto actor = spawn_connection_actor(*env_.system, env_.context, env_.directory, id,
                                        this->shared_from_this(), account_, std::move(claims));
    actor_ = actor.address();
    // A connection actor that stops for any reason takes its socket down with it.
    std::weak_ptr<beast_server_websocket> weak = this->shared_from_this();
    actor->attach_functor([weak] {
      if (auto self = weak.lock()) self->abort();
    });
  }

  void refuse(http::status status, std::string_view reason, std::string body) {
    env_.context->metrics->record_upgrade_refused(reason);
    spdlog::info("upgrade from {} refused: {} {}", peer_, static_cast<unsigned>(status), body);
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::server, "actorsync-server");
    response->set("X-Actorsync-Reason", beast::string_view(reason.data(), reason.size()));
    response->set(http::field::content_type, "text/plain; charset=utf-8");
    if (status == http::status::unauthorized)
      response->set(http::field::www_authenticate, "Bearer");
    response->keep_alive(false);
    response->body() = std::move(body);
    response->prepare_payload();
    http::async_write(ws_.next_layer(), *response,
                      [self = this->shared_from_this(), response](beast::error_code, std::size_t) {
                        self->shutdown_after_refusal();
                      });
  }

  void shutdown_after_refusal() {
    if constexpr (is_tls<Next>) {
      ws_.next_layer().async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
      });
    } else {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  listener_env env_;
  std::string peer_;
  websocket::stream<Next> ws_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  beast::flat_buffer frame_;
  std::uint8_t header_peek_ = 0;  ///< never written: read_header's empty buffer points here
  std::size_t read_credit_ = 0;   ///< frames the actor asked for and has not received (strand)
  bool reading_ = false;          ///< a frame is being read (strand)
  std::deque<frame_ptr> writes_;  ///< the front one is being written (strand)
  caf::actor_addr actor_;
  bool closed_reported_ = false;
  std::shared_ptr<memory_budget::account> account_;  ///< set once upgraded
  std::size_t charged_ = 0;                          ///< frame_'s capacity, charged (strand)
  net::steady_timer frame_timer_;                    ///< runs while a frame is arriving
  std::uint64_t frame_number_ = 0;                   ///< frames delivered (strand)
  std::uint64_t pending_ticket_ = 0;  ///< one of the pending upgrades until open() (strand)
};

std::shared_ptr<ssl::context> make_tls_context(const server_options& options) {
  auto tls = std::make_shared<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
  // The server's order wins over the client's (Boost names no flag for it). It applies to the
  // TLS 1.3 suites too, whose OpenSSL default order is already strongest first.
  SSL_CTX_set_options(tls->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only, strongest first: 256-bit AES, ChaCha20, then
  // 128-bit AES.
  SSL_CTX_set_cipher_list(tls->native_handle(),
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
  boost::system::error_code ec;
  tls->use_certificate_chain_file(options.tls_certificate_file, ec);
  if (ec) {
    throw std::runtime_error("tls.certificate_file: cannot use '" + options.tls_certificate_file +
                             "': " + ec.message());
  }
  tls->use_private_key_file(options.tls_private_key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("tls.private_key_file: cannot use '" + options.tls_private_key_file +
                             "': " + ec.message());
  }
  return tls;
}

std::string describe(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown peer";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

std::shared_ptr<listener> start_sync_listener(net::io_context& io, const listener_options& where,
                                              bool tls, caf::actor_system& system,
                                              realm_directory_actor directory,
                                              context_ptr context) {
  listener_env env{&system, std::move(directory), std::move(context), nullptr};
  if (tls) env.tls = make_tls_context(env.context->options);
  auto acceptor =
      std::make_shared<tcp_acceptor>(io, where, tls ? "wss" : "ws", [env](tcp::socket socket) {
        // Frames are small and often back to back (DOWNLOAD then MARK): without this the
        // second one waits for the peer's delayed ACK (up to 40 ms on Linux).
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto peer = describe(socket);
        if (env.tls) {
          std::make_shared<beast_server_websocket<beast::ssl_stream<beast::tcp_stream>>>(
              env, std::move(peer), std::move(socket), *env.tls)
              ->start();
        } else {
          std::make_shared<beast_server_websocket<beast::tcp_stream>>(env, std::move(peer),
                                                                      std::move(socket))
              ->start();
        }
      });
  acceptor->start();
  return acceptor;
}

}  // namespace actorsync::server
