// GET /metrics over plain HTTP/1.1 (one request per connection), rendering server_metrics.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <actorsync/server/server_tuning.hpp>
#include "server/listeners.hpp"
#include "server/tcp_acceptor.hpp"

namespace actorsync::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

class metrics_exchange : public std::enable_shared_from_this<metrics_exchange> {
 public:
  metrics_exchange(net::ip::tcp::socket socket, std::shared_ptr<server_metrics> metrics)
      : stream_(std::move(socket)), metrics_(std::move(metrics)) {}

  void start() {
    stream_.expires_after(tuning::metrics_request_timeout);
    parser_.header_limit(tuning::metrics_header_limit);
    parser_.body_limit(0);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    const auto& request = parser_.get();
    response_.version(request.version());
    response_.keep_alive(false);
    response_.set(http::field::server, "actorsync-server");
    const auto target = std::string_view(request.target().data(), request.target().size());
    if (request.method() != http::verb::get) {
      response_.result(http::status::method_not_allowed);
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "only GET is supported\n";
    } else if (target != "/metrics") {
      response_.result(http::status::not_found);
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "metrics are served at /metrics\n";
    } else {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response_.body() = metrics_->render_prometheus();
    }
    response_.prepare_payload();
    http::async_write(
        stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
          beast::error_code ignored;
          self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<server_metrics> metrics_;
};

}  // namespace

std::shared_ptr<listener> start_metrics_listener(net::io_context& io, const listener_options& where,
                                                 std::shared_ptr<server_metrics> metrics) {
  auto acceptor =
      std::make_shared<tcp_acceptor>(io, where, "metrics", [metrics](net::ip::tcp::socket socket) {
        std::make_shared<metrics_exchange>(std::move(socket), metrics)->start();
      });
  acceptor->start();
  return acceptor;
}

}  // namespace actorsync::server
