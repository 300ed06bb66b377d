// Internal (Asio). A TCP acceptor on its own strand that hands every accepted socket (already on
// a strand of its own) to a callback, until close(). Shared by the sync and metrics listeners.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <future>
#include <stdexcept>

#include <actorsync/server/server_tuning.hpp>
#include "server/listeners.hpp"

namespace actorsync::server {

class tcp_acceptor final : public listener, public std::enable_shared_from_this<tcp_acceptor> {
 public:
  using on_socket = std::function<void(boost::asio::ip::tcp::socket)>;

  tcp_acceptor(boost::asio::io_context& io, const listener_options& where, const char* what,
               on_socket handler)
      : io_(io),
        acceptor_(boost::asio::make_strand(io)),
        retry_(acceptor_.get_executor()),
        handler_(std::move(handler)) {
    namespace net = boost::asio;
    boost::system::error_code ec;
    auto address = net::ip::make_address(where.address, ec);
    if (ec)
      throw std::runtime_error(std::string(what) + ".address: '" + where.address +
                               "' is not an IP address");
    net::ip::tcp::endpoint endpoint(address, where.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error(std::string(what) + ".port: cannot listen on " + where.address +
                               ":" + std::to_string(where.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
  }

  void start() { accept(); }
  std::uint16_t port() const override { return port_; }

  void close() override {
    std::promise<void> done;
    boost::asio::post(acceptor_.get_executor(), [this, &done] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  void accept() {
    acceptor_.async_accept(boost::asio::make_strand(io_),
                           [self = shared_from_this()](boost::system::error_code ec,
                                                       boost::asio::ip::tcp::socket socket) {
                             self->accepted(ec, std::move(socket));
                           });
  }

  void accepted(boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
    if (!acceptor_.is_open() || ec == boost::asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning.
      spdlog::warn("listener on port {}: accept failed: {}", port_, ec.message());
      retry_.expires_after(tuning::accept_retry_delay);
      retry_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
        if (!wait_ec) self->accept();
      });
      return;
    }
    handler_(std::move(socket));
    accept();
  }

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  on_socket handler_;
  std::uint16_t port_ = 0;
};

}  // namespace actorsync::server
