#include "cluster/realm_router.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "cluster/nats_bus.hpp"
#include "cluster/rendezvous.hpp"

namespace actorsync::cluster {

using clock = std::chrono::steady_clock;

namespace {

// A reply that says the realm is not (or no longer) served by whoever answered: find the owner
// again rather than hand the refusal to the caller.
bool owner_moved(const bus_reply& reply) {
  return !reply.ok && (reply.error == storage::storage_errc::realm_owned_elsewhere ||
                       reply.error == storage::storage_errc::realm_lost);
}

storage::storage_error closed_error() {
  return {storage::storage_errc::closed, "the cluster bus is shutting down"};
}

}  // namespace

struct realm_router::impl : std::enable_shared_from_this<impl> {
  std::shared_ptr<nats_bus> bus;
  live_nodes_function live_nodes;
  router_options options;

  std::mutex mutex;
  std::condition_variable wake;
  std::multimap<clock::time_point, std::function<void()>> timers;
  bool closed = false;
  std::thread timer_thread;

  std::atomic<std::uint64_t> requests{0}, retries{0}, takes_requested{0}, gave_up{0};

  struct attempt {
    bus_request request;
    std::string payload;
    reply_callback done;
    clock::time_point deadline;
    std::string last_problem;
    std::size_t takes = 0;  ///< take requests sent: each next one goes to the next node in line
  };

  void run_timers() {
    std::unique_lock lock(mutex);
    while (!closed) {
      if (timers.empty()) {
        wake.wait(lock);
        continue;
      }
      auto first = timers.begin();
      if (first->first > clock::now()) {
        wake.wait_until(lock, first->first);
        continue;
      }
      auto task = std::move(first->second);
      timers.erase(first);
      lock.unlock();
      task();
      lock.lock();
    }
  }

  // False once closed: the caller completes its attempt with closed.
  bool schedule(std::chrono::milliseconds delay, std::function<void()> task) {
    std::lock_guard lock(mutex);
    if (closed) return false;
    timers.emplace(clock::now() + delay, std::move(task));
    wake.notify_one();
    return true;
  }

  bool is_closed() {
    std::lock_guard lock(mutex);
    return closed;
  }

  void send(std::shared_ptr<attempt> a) {
    if (is_closed()) return a->done(closed_error());
    auto self = shared_from_this();
    bus->request(realm_subject(a->request.realm), a->payload, options.request_timeout,
                 [self, a](bool ok, std::string payload, bus_error error) {
                   self->answered(a, ok, std::move(payload), std::move(error));
                 });
  }

  void answered(const std::shared_ptr<attempt>& a, bool ok, std::string payload, bus_error error) {
    if (ok) {
      auto reply = decode_bus_reply(payload);
      if (reply && owner_moved(reply.value())) {
        a->last_problem = reply.value().message;
        return find_owner_then_retry(a);
      }
      return a->done(std::move(reply));
    }
    a->last_problem = error.message;
    switch (error.code) {
      case bus_errc::no_responders:
      case bus_errc::timeout:  // the owner may be stopped (not dead): its lease tells
        return find_owner_then_retry(a);
      case bus_errc::disconnected:
        return retry_later(a);
      case bus_errc::closed:
        return a->done(closed_error());
      case bus_errc::invalid_request:  // resending would fail the same way
        return a->done(storage::storage_error{storage::storage_errc::invalid_argument,
                                              "the bus refused the request: " + error.message});
    }
  }

  bool past_deadline(const std::shared_ptr<attempt>& a) {
    if (clock::now() < a->deadline) return false;
    gave_up.fetch_add(1, std::memory_order_relaxed);
    a->done(storage::storage_error{storage::storage_errc::unavailable,
                                   "no node of the cluster serves realm " + a->request.realm +
                                       " (last: " + a->last_problem + ")"});
    return true;
  }

  void retry_later(const std::shared_ptr<attempt>& a) {
    if (past_deadline(a)) return;
    retries.fetch_add(1, std::memory_order_relaxed);
    auto self = shared_from_this();
    if (!schedule(options.retry_delay, [self, a] { self->send(a); })) a->done(closed_error());
  }

  // On the timer thread: the live-node query blocks on PostgreSQL.
  void find_owner_then_retry(const std::shared_ptr<attempt>& a) {
    if (past_deadline(a)) return;
    auto self = shared_from_this();
    if (!schedule(std::chrono::milliseconds{0}, [self, a] { self->ask_preferred_to_take(a); })) {
      a->done(closed_error());
    }
  }

  void ask_preferred_to_take(const std::shared_ptr<attempt>& a) {
    if (is_closed()) return a->done(closed_error());
    auto nodes = live_nodes();
    if (!nodes || nodes.value().empty()) {
      a->last_problem = nodes ? "no live node" : nodes.error().message;
      return retry_later(a);
    }
    // The preferred node first; when it cannot take the realm (not on the bus, draining), the
    // next in rendezvous order, and so on.
    auto ranked = std::move(nodes.value());
    std::sort(ranked.begin(), ranked.end(), [&](const std::string& x, const std::string& y) {
      const auto wx = rendezvous_weight(a->request.realm, x);
      const auto wy = rendezvous_weight(a->request.realm, y);
      return wx != wy ? wx > wy : x < y;
    });
    const auto preferred = ranked[a->takes++ % ranked.size()];
    takes_requested.fetch_add(1, std::memory_order_relaxed);
    bus_request take;
    take.kind = bus_request_kind::take_realm;
    take.realm = a->request.realm;
    take.from_node = options.node_id;
    auto self = shared_from_this();
    bus->request(node_subject(preferred), encode(take), options.request_timeout,
                 [self, a, preferred](bool ok, std::string payload, bus_error error) {
                   auto reply = ok ? decode_bus_reply(payload)
                                   : storage::result<bus_reply>(storage::storage_error{
                                         storage::storage_errc::unavailable, error.message});
                   if (reply && reply.value().ok) {
                     self->retries.fetch_add(1, std::memory_order_relaxed);
                     return self->send(a);  // taken: the owner answers now
                   }
                   a->last_problem = "node " + preferred + " could not take it: " +
                                     (reply ? reply.value().message : reply.error().message);
                   self->retry_later(a);
                 });
  }

  void close() {
    std::multimap<clock::time_point, std::function<void()>> dropped;
    {
      std::lock_guard lock(mutex);
      closed = true;
      wake.notify_all();
    }
    if (timer_thread.joinable()) timer_thread.join();
    {
      std::lock_guard lock(mutex);
      dropped.swap(timers);
    }
    // Each dropped task is a send(): run now, it completes its attempt with closed.
    for (auto& [when, task] : dropped) task();
  }
};

realm_router::realm_router(std::shared_ptr<nats_bus> bus, live_nodes_function live_nodes,
                           router_options options)
    : impl_(std::make_shared<impl>()) {
  impl_->bus = std::move(bus);
  impl_->live_nodes = std::move(live_nodes);
  impl_->options = std::move(options);
  impl_->timer_thread = std::thread([impl = impl_.get()] { impl->run_timers(); });
}

realm_router::~realm_router() {
  impl_->close();
}

void realm_router::to_owner(bus_request request, reply_callback done) {
  auto a = std::make_shared<impl::attempt>();
  a->payload = encode(request);
  request.changesets.clear();  // they travel as the payload; the attempt keeps the realm
  a->request = std::move(request);
  a->done = std::move(done);
  a->deadline = clock::now() + impl_->options.give_up_after;
  impl_->requests.fetch_add(1, std::memory_order_relaxed);
  impl_->send(std::move(a));
}

router_stats realm_router::stats() const {
  router_stats out;
  out.requests = impl_->requests.load(std::memory_order_relaxed);
  out.retries = impl_->retries.load(std::memory_order_relaxed);
  out.takes_requested = impl_->takes_requested.load(std::memory_order_relaxed);
  out.gave_up = impl_->gave_up.load(std::memory_order_relaxed);
  return out;
}

}  // namespace actorsync::cluster
