// Beast WebSocket client links and the io_runtime. See client_websocket.hpp for the threading
// contract.
#include "actors/client_websocket.hpp"

#include <actorsync/actors/runtime_tuning.hpp>
#include "actors/sync_error.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <caf/all.hpp>

#include <actorsync/actors/session_messages.hpp>
#include "protocol/codec.hpp"

namespace actorsync::runtime {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

// ---- io_runtime
// ----------------------------------------------------------------------------------

struct io_runtime::impl {
  net::io_context context{1};
  net::executor_work_guard<net::io_context::executor_type> work{context.get_executor()};
  ssl::context tls{ssl::context::tls_client};
  std::thread thread;
  std::atomic<bool> stopped{false};
};

io_runtime::io_runtime(tls_settings tls) : impl_(std::make_unique<impl>()) {
  auto& t = impl_->tls;
  t.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (tls.trust_file.empty()) {
    t.set_default_verify_paths();
  } else {
    t.load_verify_file(tls.trust_file);  // throws on a missing or bad file: a config error
  }
  t.set_verify_mode(tls.verify_peer ? ssl::verify_peer : ssl::verify_none);
  impl_->thread = std::thread([this] { impl_->context.run(); });
}

io_runtime::~io_runtime() {
  stop();
}

void io_runtime::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->work.reset();
  impl_->context.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

// ---- links
// ---------------------------------------------------------------------------------------

namespace {

template <class Message>
void tell(const caf::actor_addr& manager, Message message) {
  if (auto strong = caf::actor_cast<caf::actor>(manager))
    caf::anon_send(strong, std::move(message));
}

constexpr std::size_t read_chunk = tuning::socket_read_chunk;
constexpr auto part_report_interval = tuning::partial_frame_report_interval;

sync_errc classify(const beast::error_code& ec) {
  if (ec.category() == net::error::get_ssl_category() ||
      ec.category() == ssl::error::get_stream_category())
    return sync_errc::tls_failure;
  if (ec == net::error::connection_refused || ec == net::error::host_not_found ||
      ec == net::error::host_unreachable || ec == net::error::network_unreachable)
    return sync_errc::connect_failed;
  return sync_errc::connection_lost;
}

template <bool Tls>
class beast_link final : public client_websocket,
                         public std::enable_shared_from_this<beast_link<Tls>> {
 public:
  using next_layer =
      std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  beast_link(io_runtime::impl& io, socket_target target)
      : target_(std::move(target)), resolver_(net::make_strand(io.context)), ws_(make_stream(io)) {}

  void start() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] { self->resolve(); });
  }

  void write(std::shared_ptr<const std::vector<std::uint8_t>> frame) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), frame = std::move(frame)] {
      if (self->closed_) return;
      self->ws_.async_write(net::buffer(*frame), [self, frame](beast::error_code ec, std::size_t) {
        if (ec) return self->fail(classify(ec), ec.message());
        tell(self->target_.manager, socket_written{self->target_.link, self->target_.generation});
      });
    });
  }

  void close_and_release(std::shared_ptr<client_websocket> owner) override {
    // `owner` is the caller's reference: it is released on the strand (or, if the I/O thread
    // already stopped, when the io_context destroys this handler after the thread was joined).
    net::post(ws_.get_executor(), [self = this->shared_from_this(), owner = std::move(owner)] {
      self->closed_ = true;
      beast::error_code ignored;
      self->resolver_.cancel();
      auto& socket = beast::get_lowest_layer(self->ws_).socket();
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    });
  }

 private:
  websocket::stream<next_layer> make_stream(io_runtime::impl& io) {
    if constexpr (Tls) {
      return websocket::stream<next_layer>(resolver_.get_executor(), io.tls);
    } else {
      return websocket::stream<next_layer>(resolver_.get_executor());
    }
  }

  void fail(sync_errc code, std::string message) {
    if (closed_ || failed_) return;
    failed_ = true;
    tell(target_.manager,
         socket_failed{target_.link, target_.generation, code, std::move(message)});
  }

  void resolve() {
    resolver_.async_resolve(
        target_.url.host, target_.url.port,
        [self = this->shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->fail(sync_errc::connect_failed, "resolve: " + ec.message());
          self->connect(r);
        });
  }

  void connect(const tcp::resolver::results_type& results) {
    beast::get_lowest_layer(ws_).async_connect(
        results, [self = this->shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return self->fail(classify(ec), "connect: " + ec.message());
          // Small frames back to back must not wait for delayed ACKs (Nagle).
          beast::error_code ignored;
          beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), ignored);
          self->secure();
        });
  }

  void secure() {
    if constexpr (Tls) {
      auto& stream = ws_.next_layer();
      if (!SSL_set_tlsext_host_name(stream.native_handle(), target_.url.host.c_str()))
        return fail(sync_errc::tls_failure, "cannot set SNI host name");
      stream.set_verify_callback(ssl::host_name_verification(target_.url.host));
      stream.async_handshake(
          ssl::stream_base::client, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) return self->fail(sync_errc::tls_failure, "TLS handshake: " + ec.message());
            self->upgrade();
          });
    } else {
      upgrade();
    }
  }

  void upgrade() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.set_option(websocket::stream_base::decorator(
        [token = target_.token](websocket::request_type& request) {
          if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
          request.set(http::field::sec_websocket_protocol, std::string(protocol::subprotocol));
        }));
    ws_.binary(true);
    ws_.async_handshake(
        response_, target_.url.host_header(), target_.url.target,
        [self = this->shared_from_this()](beast::error_code ec) { self->on_upgrade(ec); });
  }

  void on_upgrade(beast::error_code ec) {
    if (ec) {
      const auto status = response_.result_int();
      if (status == 0) return fail(classify(ec), "upgrade: " + ec.message());
      const auto reason = response_["X-Actorsync-Reason"];
      const std::string_view why(reason.data(), reason.size());
      return fail(from_upgrade_refusal(status, why), "upgrade refused: " + std::to_string(status) +
                                                         (why.empty() ? "" : " ") +
                                                         std::string(why));
    }
    auto accepted = response_[http::field::sec_websocket_protocol];
    if (std::string_view(accepted.data(), accepted.size()) != protocol::subprotocol)
      return fail(sync_errc::wrong_protocol_version, "server did not accept actorsync.v1");
    tell(target_.manager, socket_opened{target_.link, target_.generation});
    read();
  }

  // Reads a frame in parts, so that bytes, not only whole frames, count as liveness: a 1 MiB
  // DOWNLOAD on a slow link may take longer than the pong timeout to arrive whole.
  void read() {
    ws_.async_read_some(buffer_, read_chunk,
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t bytes) {
                          if (ec) return self->fail(classify(ec), "read: " + ec.message());
                          self->frame_bytes_ += bytes;
                          if (self->ws_.is_message_done()) {
                            self->deliver(std::exchange(self->frame_bytes_, 0));
                          } else {
                            self->part_arrived();
                          }
                          self->read();
                        });
  }

  // At most one liveness event per interval, however small the TCP segments are.
  void part_arrived() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_part_reported_ < part_report_interval) return;
    last_part_reported_ = now;
    tell(target_.manager, socket_frame{target_.link, target_.generation, nullptr, 0});
  }

  void deliver(std::size_t bytes) {
    auto data = buffer_.cdata();
    std::span<const std::uint8_t> frame(static_cast<const std::uint8_t*>(data.data()), data.size());
    auto decoded = protocol::decode_server_message(frame);
    buffer_.consume(buffer_.size());
    if (!decoded) return fail(sync_errc::protocol_violation, decoded.error().reason);
    tell(
        target_.manager,
        socket_frame{target_.link, target_.generation,
                     std::make_shared<const protocol::server_message>(std::move(decoded.message())),
                     bytes});
  }

  socket_target target_;
  tcp::resolver resolver_;
  websocket::stream<next_layer> ws_;
  beast::flat_buffer buffer_;
  websocket::response_type response_;
  bool closed_ = false;                                       ///< strand only
  bool failed_ = false;                                       ///< strand only
  std::size_t frame_bytes_ = 0;                               ///< strand only
  std::chrono::steady_clock::time_point last_part_reported_;  ///< strand only
};

}  // namespace

void client_websocket::retire(std::shared_ptr<client_websocket> link) {
  if (!link) return;
  auto* raw = link.get();
  raw->close_and_release(std::move(link));
}

std::shared_ptr<client_websocket> make_client_websocket(io_runtime& io, socket_target target) {
  auto& internals = io.internals();
  if (target.url.tls) return std::make_shared<beast_link<true>>(internals, std::move(target));
  return std::make_shared<beast_link<false>>(internals, std::move(target));
}

}  // namespace actorsync::runtime
