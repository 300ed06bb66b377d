#include "tests/support/scripted_client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace actorsync::testing {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

template <class Next>
constexpr bool is_tls = !std::is_same_v<Next, beast::tcp_stream>;

template <class Next>
class client_impl final : public scripted_client {
 public:
  explicit client_impl(const client_options& options) : options_(options) {
    if constexpr (is_tls<Next>) {
      tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
      tls_->set_verify_mode(ssl::verify_peer);
      if (!options.ca_file.empty()) tls_->load_verify_file(options.ca_file);
      ws_.emplace(io_, *tls_);
    } else {
      ws_.emplace(io_);
    }
  }

  void connect(std::chrono::milliseconds deadline) {
    beast::error_code result;
    bool done = false;
    tcp::resolver resolver(io_);
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(options_.host, std::to_string(options_.port),
                           [&](beast::error_code ec, tcp::resolver::results_type r) {
                             result = ec;
                             endpoints = std::move(r);
                             done = true;
                           });
    run_until(done, deadline, "resolve");
    if (result) throw connect_failed("resolve: " + result.message());
    done = false;
    beast::get_lowest_layer(*ws_).async_connect(endpoints,
                                                [&](beast::error_code ec, const tcp::endpoint&) {
                                                  result = ec;
                                                  done = true;
                                                });
    run_until(done, deadline, "connect");
    if (result) throw connect_failed("connect: " + result.message());
    // Scripts write several small frames in a row: with Nagle's algorithm each one after the
    // first waits for the server's delayed ACK (40 ms on Linux).
    beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true));
    if constexpr (is_tls<Next>) {
      auto* native = ws_->next_layer().native_handle();
      SSL_set_tlsext_host_name(native, options_.host.c_str());
      ws_->next_layer().set_verify_callback(ssl::host_name_verification(options_.host));
      done = false;
      ws_->next_layer().async_handshake(ssl::stream_base::client, [&](beast::error_code ec) {
        result = ec;
        done = true;
      });
      run_until(done, deadline, "TLS handshake");
      if (result) throw connect_failed("TLS handshake: " + result.message());
    }
    ws_->set_option(websocket::stream_base::decorator([this](websocket::request_type& request) {
      if (!options_.subprotocol.empty()) {
        request.set(http::field::sec_websocket_protocol, options_.subprotocol);
      }
      if (!options_.raw_authorization.empty()) {
        request.set(http::field::authorization, options_.raw_authorization);
      } else if (options_.token) {
        request.set(http::field::authorization, "Bearer " + *options_.token);
      }
      for (const auto& [name, value] : options_.extra_headers) request.insert(name, value);
    }));
    websocket::response_type response;
    done = false;
    ws_->async_handshake(response, options_.host, options_.path, [&](beast::error_code ec) {
      result = ec;
      done = true;
    });
    run_until(done, deadline, "WebSocket upgrade");
    if (result) {
      if (result == websocket::error::upgrade_declined) {
        const auto reason = response["X-Actorsync-Reason"];
        throw upgrade_refused(static_cast<int>(response.result_int()), response.body(),
                              std::string(reason.data(), reason.size()));
      }
      throw connect_failed("upgrade: " + result.message());
    }
    if (response[http::field::sec_websocket_protocol] != "actorsync.v1") {
      throw connect_failed("server did not confirm subprotocol actorsync.v1");
    }
    ws_->binary(true);
  }

  void send_frame(std::span<const std::uint8_t> bytes) override { write_message(bytes, false); }
  void send_text_frame(std::span<const std::uint8_t> bytes) override { write_message(bytes, true); }

  std::vector<std::uint8_t> receive_frame(std::chrono::milliseconds deadline) override {
    quick_ack();
    beast::flat_buffer buffer;
    beast::error_code result;
    bool done = false;
    ws_->async_read(buffer, [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    run_until(done, deadline, "read");
    if (result == websocket::error::closed) {
      throw std::runtime_error("connection closed by the server with code " +
                               std::to_string(ws_->reason().code));
    }
    if (result) throw std::runtime_error("read failed: " + result.message());
    auto data = buffer.data();
    return {net::buffers_begin(data), net::buffers_end(data)};
  }

  std::uint16_t wait_closed(std::chrono::milliseconds deadline) override {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      beast::flat_buffer buffer;
      beast::error_code result;
      bool done = false;
      ws_->async_read(buffer, [&](beast::error_code ec, std::size_t) {
        result = ec;
        done = true;
      });
      run_until(done,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    until - std::chrono::steady_clock::now()),
                "wait for close");
      if (result == websocket::error::closed) return ws_->reason().code;
      if (result)
        throw std::runtime_error("connection ended without a close frame: " + result.message());
    }
  }

 private:
  void write_message(std::span<const std::uint8_t> bytes, bool text) {
    ws_->text(text);
    beast::error_code result;
    bool done = false;
    ws_->async_write(net::buffer(bytes.data(), bytes.size()),
                     [&](beast::error_code ec, std::size_t) {
                       result = ec;
                       done = true;
                     });
    run_until(done, default_deadline, "write");
    ws_->binary(true);
    if (result) throw std::runtime_error("write failed: " + result.message());
  }

  // The server writes several small frames in a row and (like most servers) leaves Nagle's
  // algorithm on: each frame after the first waits for our ACK, which Linux delays by up to
  // 40 ms unless the socket is in quick-ACK mode (a mode the kernel leaves on its own).
  void quick_ack() {
#ifdef TCP_QUICKACK
    const int on = 1;
    ::setsockopt(beast::get_lowest_layer(*ws_).socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK,
                 &on, sizeof on);
#endif
  }

  // Runs the private io_context until `done` or the deadline; on timeout the socket is closed
  // (cancelling the operation) and the wait fails the test.
  void run_until(bool& done, std::chrono::milliseconds deadline, const char* what) {
    io_.restart();
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done && io_.run_one_until(until) > 0) {
    }
    if (done) return;
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    io_.restart();
    while (!done && io_.run_one() > 0) {
    }
    throw std::runtime_error(std::string(what) + " timed out");
  }

  client_options options_;
  net::io_context io_;
  std::unique_ptr<ssl::context> tls_;
  std::optional<websocket::stream<Next>> ws_;
};

}  // namespace

std::unique_ptr<scripted_client> scripted_client::connect(const client_options& options,
                                                          std::chrono::milliseconds deadline) {
  if (options.tls) {
    auto client = std::make_unique<client_impl<beast::ssl_stream<beast::tcp_stream>>>(options);
    client->connect(deadline);
    return client;
  }
  auto client = std::make_unique<client_impl<beast::tcp_stream>>(options);
  client->connect(deadline);
  return client;
}

void scripted_client::send(const protocol::client_message& message) {
  protocol::byte_buffer frame;
  protocol::encode(message, frame);
  send_frame(frame);
}

protocol::server_message scripted_client::receive(std::chrono::milliseconds deadline) {
  auto frame = receive_frame(deadline);
  auto decoded = protocol::decode_server_message(frame);
  if (!decoded) throw std::runtime_error("undecodable server frame: " + decoded.error().reason);
  return std::move(decoded.message());
}

template <class T>
const char* scripted_client::name_of() {
  if constexpr (std::is_same_v<T, protocol::server_ident_message>) return "IDENT";
  if constexpr (std::is_same_v<T, protocol::download_message>) return "DOWNLOAD";
  if constexpr (std::is_same_v<T, protocol::server_mark_message>) return "MARK";
  if constexpr (std::is_same_v<T, protocol::unbound_message>) return "UNBOUND";
  if constexpr (std::is_same_v<T, protocol::error_message>) return "ERROR";
  if constexpr (std::is_same_v<T, protocol::pong_message>) return "PONG";
  return "?";
}

template const char* scripted_client::name_of<protocol::server_ident_message>();
template const char* scripted_client::name_of<protocol::download_message>();
template const char* scripted_client::name_of<protocol::server_mark_message>();
template const char* scripted_client::name_of<protocol::unbound_message>();
template const char* scripted_client::name_of<protocol::error_message>();
template const char* scripted_client::name_of<protocol::pong_message>();

std::string scripted_client::describe(const protocol::server_message& message) {
  return std::visit(
      [](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::error_message>) {
          return "ERROR " +
                 std::string(protocol::to_string(static_cast<protocol::error_code>(m.code))) +
                 " session " + std::to_string(m.session) + ": " + m.message;
        } else if constexpr (std::is_same_v<T, protocol::download_message>) {
          return "DOWNLOAD session " + std::to_string(m.session) + " server_version " +
                 std::to_string(m.server_version) + " ack " +
                 std::to_string(m.last_integrated_client_version) + " with " +
                 std::to_string(m.changesets.size()) + " changesets";
        } else {
          return name_of<T>();
        }
      },
      message);
}

protocol::error_message scripted_client::expect_error(protocol::error_code code,
                                                      protocol::session_ident session,
                                                      std::chrono::milliseconds deadline) {
  auto error = expect<protocol::error_message>(deadline);
  if (error.code != static_cast<std::uint16_t>(code) || error.session != session) {
    throw std::runtime_error("expected ERROR " + std::string(protocol::to_string(code)) +
                             " for session " + std::to_string(session) + ", got " +
                             describe(error));
  }
  return error;
}

bound_session bind_and_ident(scripted_client& client, protocol::session_ident session,
                             const std::string& realm_path, const std::string& token) {
  client.send(protocol::bind_message{session, realm_path, token});
  client.send(protocol::client_ident_message{session, 0, 0, 0, 0});
  auto ident = client.expect<protocol::server_ident_message>();
  if (ident.session != session || ident.client_file_ident == 0) {
    throw std::runtime_error("IDENT names the wrong session or no file ident");
  }
  return {session, ident.client_file_ident, ident.file_ident_salt};
}

protocol::changeset make_changeset(protocol::version_type version, const std::string& object_id,
                                   std::int64_t value, protocol::version_type last_server) {
  protocol::changeset c;
  c.client_version = version;
  c.last_integrated_server_version = last_server;
  c.origin_timestamp = 1700000000000 + version;
  c.instructions.push_back(protocol::create_object{"items", object_id});
  c.instructions.push_back(protocol::set_field{"items", object_id, "value", value});
  return c;
}

std::pair<int, std::string> http_get(std::uint16_t port, const std::string& target,
                                     std::string* actorsync_reason) {
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "127.0.0.1");
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  if (actorsync_reason != nullptr) {
    const auto reason = response["X-Actorsync-Reason"];
    actorsync_reason->assign(reason.data(), reason.size());
  }
  return {static_cast<int>(response.result_int()), response.body()};
}

int connect_raw(std::uint16_t port, int receive_buffer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  timeval timeout{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  return fd;
}

std::optional<std::size_t> changesets_until_mark(scripted_client& client) {
  std::size_t received = 0;
  for (;;) {
    auto message = client.receive();
    if (auto* d = std::get_if<protocol::download_message>(&message)) {
      received += d->changesets.size();
      continue;
    }
    if (!std::holds_alternative<protocol::server_mark_message>(message)) return std::nullopt;
    return received;
  }
}

int upgrade_status(const client_options& options, std::string* body) {
  try {
    scripted_client::connect(options);
  } catch (const upgrade_refused& e) {
    if (body != nullptr) *body = e.body;
    return e.status;
  }
  return 101;
}

}  // namespace actorsync::testing
