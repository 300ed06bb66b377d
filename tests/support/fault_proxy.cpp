#include "tests/support/fault_proxy.hpp"

// Boost 1.74 asio uses std::exchange without including <utility>: it must come first.
#include <utility>

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <list>
#include <mutex>
#include <thread>

namespace actorsync::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto stall_recheck = std::chrono::milliseconds(5);
}

struct fault_proxy::impl : std::enable_shared_from_this<fault_proxy::impl> {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;  // read by other threads, so not asked of the acceptor
  std::thread thread;

  std::atomic<std::uint16_t> upstream_port;
  std::array<std::atomic<bool>, 2> stalled{};  // by direction: to_server, to_client
  std::atomic<bool> refusing{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> delay_ms{0};
  std::atomic<std::size_t> max_segment{0};
  std::array<std::atomic<std::size_t>, 2> throttle{};
  std::array<std::atomic<std::uint64_t>, 2> forwarded{};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refuse_remaining{0};
  std::atomic<std::uint64_t> refused{0};

  // One accepted connection and its upstream; lives while either pump runs.
  struct link {
    tcp::socket client;
    tcp::socket server;
    explicit link(asio::io_context& io) : client(io), server(io) {}
    void close() {
      boost::system::error_code ignored;
      for (auto* s : {&client, &server}) {
        s->set_option(asio::socket_base::linger(true, 0), ignored);  // RST, like a cut cable
        s->close(ignored);
      }
    }
  };
  std::mutex links_mutex;
  std::list<std::weak_ptr<link>> links;

  // Copies one direction of a link, applying the current faults to each chunk.
  struct pump : std::enable_shared_from_this<pump> {
    std::shared_ptr<impl> owner;
    std::shared_ptr<link> conn;
    tcp::socket& from;
    tcp::socket& to;
    flow direction;
    std::array<char, 64 * 1024> buffer{};
    std::size_t length = 0;
    std::size_t offset = 0;
    asio::steady_timer timer;

    pump(std::shared_ptr<impl> o, std::shared_ptr<link> c, tcp::socket& f, tcp::socket& t, flow d)
        : owner(std::move(o)), conn(std::move(c)), from(f), to(t), direction(d), timer(owner->io) {}

    std::size_t index() const { return direction == flow::to_server ? 0 : 1; }

    void read() {
      from.async_read_some(
          asio::buffer(buffer), [self = shared_from_this()](auto ec, std::size_t n) {
            if (ec) return self->conn->close();
            self->length = n;
            self->offset = 0;
            self->wait_then(std::chrono::milliseconds(self->owner->delay_ms.load()),
                            [self] { self->write_segment(); });
          });
    }

    template <class F>
    void wait_then(std::chrono::milliseconds d, F next) {
      if (d.count() <= 0) return next();
      timer.expires_after(d);
      timer.async_wait([self = shared_from_this(), next](auto ec) {
        if (ec) return self->conn->close();
        next();
      });
    }

    void write_segment() {
      if (owner->stopping) return conn->close();
      if (owner->stalled[index()])
        return wait_then(stall_recheck, [self = shared_from_this()] { self->write_segment(); });
      if (offset == length) return read();
      const auto limit = owner->max_segment.load();
      const auto n = limit == 0 ? length - offset : std::min(limit, length - offset);
      asio::async_write(to, asio::buffer(buffer.data() + offset, n),
                        [self = shared_from_this()](auto ec, std::size_t written) {
                          if (ec) return self->conn->close();
                          self->offset += written;
                          self->owner->forwarded[self->index()] += written;
                          const auto rate = self->owner->throttle[self->index()].load();
                          const auto pause = rate == 0
                                                 ? std::chrono::milliseconds(0)
                                                 : std::chrono::milliseconds(written * 1000 / rate);
                          self->wait_then(pause, [self] { self->write_segment(); });
                        });
    }
  };

  void accept() {
    auto conn = std::make_shared<link>(io);
    acceptor.async_accept(conn->client, [self = shared_from_this(), conn](auto ec) {
      if (ec) return;  // acceptor closed
      ++self->accepted;
      // A connection accepted just before the destructor's close ran must not start pumps
      // that nothing would stop (io.run() would never return and the join would hang).
      if (self->stopping) return conn->close();
      if (self->refusing || self->take_refusal()) {
        ++self->refused;
        conn->close();
      } else {
        self->connect_upstream(conn);
      }
      self->accept();
    });
  }

  /// One of refuse_next's refusals, if any is left.
  bool take_refusal() {
    auto left = refuse_remaining.load();
    while (left > 0 && !refuse_remaining.compare_exchange_weak(left, left - 1)) {
    }
    return left > 0;
  }

  void connect_upstream(const std::shared_ptr<link>& conn) {
    {
      std::lock_guard lock(links_mutex);
      links.remove_if([](const auto& w) { return w.expired(); });
      links.push_back(conn);
    }
    const tcp::endpoint upstream(asio::ip::address_v4::loopback(), upstream_port.load());
    conn->server.async_connect(upstream, [self = shared_from_this(), conn](auto ec) {
      if (ec) return conn->close();
      boost::system::error_code ignored;
      conn->client.set_option(tcp::no_delay(true), ignored);
      conn->server.set_option(tcp::no_delay(true), ignored);
      std::make_shared<pump>(self, conn, conn->client, conn->server, flow::to_server)->read();
      std::make_shared<pump>(self, conn, conn->server, conn->client, flow::to_client)->read();
    });
  }

  void cut_all() {
    std::lock_guard lock(links_mutex);
    for (auto& w : links) {
      if (auto conn = w.lock()) conn->close();
    }
    links.clear();
  }
};

fault_proxy::fault_proxy(std::uint16_t upstream_port) : impl_(std::make_shared<impl>()) {
  impl_->upstream_port = upstream_port;
  const tcp::endpoint local(asio::ip::address_v4::loopback(), 0);
  impl_->acceptor.open(local.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(local);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

// Closing everything lets io.run() return once the aborted handlers have released their
// references, so no handler outlives the proxy.
fault_proxy::~fault_proxy() {
  impl_->stopping = true;
  asio::post(impl_->io, [i = impl_.get()] {
    boost::system::error_code ignored;
    i->acceptor.close(ignored);
    i->cut_all();
  });
  impl_->thread.join();
}

std::uint16_t fault_proxy::port() const {
  return impl_->port;
}

void fault_proxy::cut_all() {
  asio::post(impl_->io, [i = impl_] { i->cut_all(); });
}
void fault_proxy::set_stalled(bool stalled) {
  for (auto& direction : impl_->stalled) direction = stalled;
}
void fault_proxy::set_stalled(flow direction, bool stalled) {
  impl_->stalled[direction == flow::to_server ? 0 : 1] = stalled;
}
void fault_proxy::set_delay(std::chrono::milliseconds delay) {
  impl_->delay_ms = delay.count();
}
void fault_proxy::set_max_segment(std::size_t bytes) {
  impl_->max_segment = bytes;
}
void fault_proxy::set_throttle(flow direction, std::size_t bytes_per_second) {
  impl_->throttle[direction == flow::to_server ? 0 : 1] = bytes_per_second;
}
void fault_proxy::set_refusing(bool refusing) {
  impl_->refusing = refusing;
}
void fault_proxy::refuse_next(std::uint64_t count) {
  impl_->refuse_remaining = count;
}
void fault_proxy::set_upstream_port(std::uint16_t port) {
  impl_->upstream_port = port;
}

std::size_t fault_proxy::live_connections() const {
  std::lock_guard lock(impl_->links_mutex);
  std::size_t live = 0;
  for (const auto& w : impl_->links) live += w.expired() ? 0 : 1;
  return live;
}
std::uint64_t fault_proxy::accepted_connections() const {
  return impl_->accepted;
}
std::uint64_t fault_proxy::refused_connections() const {
  return impl_->refused;
}
std::uint64_t fault_proxy::forwarded_bytes(flow direction) const {
  return impl_->forwarded[direction == flow::to_server ? 0 : 1];
}

}  // namespace actorsync::testing
