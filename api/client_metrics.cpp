#include "api/client_metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <stdexcept>

namespace actorsync::api {

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using net::ip::tcp;

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, std::uint64_t value,
            const std::string& labels = {}) {
  out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(value) + "\n";
}

void gauge(std::string& out, const char* name, const char* help, std::uint64_t value) {
  const std::string n = std::string("actorsync_client_") + name;
  header(out, n, "gauge", help);
  sample(out, n, value);
}

// A label value as the text format wants it: backslash, quote and newline escaped.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string render_client_metrics(const runtime::fleet_status& f,
                                  const runtime::fleet_counters& counters,
                                  const runtime::link_statistics& links,
                                  const std::vector<std::string>& server_urls) {
  std::string out;
  header(out, "actorsync_client_sessions", "gauge", "Sessions by state.");
  sample(out, "actorsync_client_sessions", f.active, "state=\"active\"");
  sample(out, "actorsync_client_sessions", f.paused, "state=\"paused\"");
  sample(out, "actorsync_client_sessions", f.inactive, "state=\"inactive\"");
  header(out, "actorsync_client_session_connections", "gauge", "Sessions by connection state.");
  sample(out, "actorsync_client_session_connections", f.disconnected,
         "connection=\"disconnected\"");
  sample(out, "actorsync_client_session_connections", f.connecting, "connection=\"connecting\"");
  sample(out, "actorsync_client_session_connections", f.connected, "connection=\"connected\"");
  gauge(out, "sessions_in_error", "Sessions whose latest event is an error not yet recovered.",
        f.in_error);
  gauge(out, "sessions_uploading", "Sessions with local writes not yet acknowledged.", f.uploading);
  gauge(out, "unacknowledged_bytes", "Local changeset bytes not yet acknowledged.",
        f.unacknowledged_bytes);
  gauge(out, "download_remaining_bytes", "Bytes the servers said they still hold to download.",
        f.download_remaining_bytes);
  gauge(out, "oldest_unacknowledged_milliseconds",
        "Age of the oldest unacknowledged local write of any session.",
        static_cast<std::uint64_t>(f.oldest_unacknowledged_age.count()));
  gauge(out, "links_open", "Connections open or opening.", links.sockets_open);
  header(out, "actorsync_client_connects_total", "counter", "Connection attempts by server.");
  for (std::size_t i = 0; i < server_urls.size() && i < links.connects_per_server.size(); ++i)
    sample(out, "actorsync_client_connects_total", links.connects_per_server[i],
           "server=\"" + label(server_urls[i]) + "\"");
  header(out, "actorsync_client_link_failures_total", "counter",
         "Connections lost or refused, by reason (reconnects follow the retryable ones).");
  for (std::size_t code = 0; code < links.failures_by_reason.size(); ++code) {
    if (links.failures_by_reason[code] == 0) continue;
    sample(out, "actorsync_client_link_failures_total", links.failures_by_reason[code],
           "reason=\"" + std::string(runtime::to_string(static_cast<runtime::sync_errc>(code))) +
               "\"");
  }
  header(out, "actorsync_client_bytes_sent_total", "counter", "Frame bytes written.");
  sample(out, "actorsync_client_bytes_sent_total", links.bytes_sent);
  header(out, "actorsync_client_bytes_received_total", "counter", "Frame bytes received.");
  sample(out, "actorsync_client_bytes_received_total", links.bytes_received);
  counters.commit_to_acknowledgement.render(
      out, "actorsync_client_commit_to_acknowledgement_seconds",
      "From a local commit reaching its session to its acknowledgement by the server.");
  counters.remote_commit_to_visible.render(
      out, "actorsync_client_remote_commit_to_visible_seconds",
      "From a remote writer's commit (its timestamp) to its integration here.");
  return out;
}

namespace {

// One scrape: a request read and answered within `exchange_timeout` each way, then closed, so a
// peer that connects and sends (or reads) nothing holds neither the endpoint nor the app.
constexpr auto exchange_timeout = std::chrono::seconds(5);

struct exchange : std::enable_shared_from_this<exchange> {
  exchange(tcp::socket socket, std::function<std::string()> render)
      : stream(std::move(socket)), render(std::move(render)) {}

  void start() {
    stream.expires_after(exchange_timeout);
    http::async_read(stream, buffer, request,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (!ec) self->answer();
                     });
  }

  void answer() {
    response.version(request.version());
    response.keep_alive(false);
    if (request.method() == http::verb::get && request.target() == "/metrics") {
      response.result(http::status::ok);
      response.set(http::field::content_type, "text/plain; version=0.0.4");
      response.body() = render();
    } else {
      response.result(http::status::not_found);
      response.body() = "only GET /metrics is served here\n";
    }
    response.prepare_payload();
    stream.expires_after(exchange_timeout);
    http::async_write(stream, response,
                      [self = shared_from_this()](boost::system::error_code, std::size_t) {
                        boost::system::error_code ignored;
                        self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  boost::beast::tcp_stream stream;
  std::function<std::string()> render;
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response<http::string_body> response;
};

}  // namespace

struct metrics_endpoint::impl {
  net::io_context io;
  tcp::acceptor acceptor{io};
  net::steady_timer retry{io};
  std::function<std::string()> render;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (ec) {  // e.g. out of descriptors: try again shortly rather than spin
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](boost::system::error_code wait_ec) {
          if (!wait_ec) accept();
        });
        return;
      }
      std::make_shared<exchange>(std::move(socket), render)->start();
      accept();
    });
  }
};

metrics_endpoint::metrics_endpoint(const std::string& address, std::uint16_t port,
                                   std::function<std::string()> render)
    : impl_(std::make_unique<impl>()) {
  impl_->render = std::move(render);
  boost::system::error_code ec;
  const auto where = net::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("metrics endpoint: '" + address + "' is not an IP address");
  const tcp::endpoint endpoint(where, port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("metrics endpoint: cannot listen on " + address + ":" +
                             std::to_string(port) + ": " + ec.message());
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  thread_ = std::thread([this] { impl_->io.run(); });
}

metrics_endpoint::~metrics_endpoint() {
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace actorsync::api
