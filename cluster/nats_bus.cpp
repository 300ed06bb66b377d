// The NATS bus on libnats (nats.c). The only file that includes <nats/nats.h>.
//
// Ownership (libnats calls back on its own threads, with a void* closure):
// - bus_core: requests waiting for replies, the queue of completions and the counters. Shared by
//   the connection, the completion thread, and the closures of the reply subscription and of the
//   connection callbacks; libnats' closures are released in natsSubscription's on-complete and
//   the connection's closed callback, the last calls libnats makes with them.
// - bus_connection: the natsConnection, shared by the nats_bus, its responders and subscriptions,
//   so that the natsConnection outlives every natsSubscription and publish made through it.
// - subscription_entry: one subscription's handler, freed by libnats' on-complete callback (after
//   the last message handler returned).
//
// Requests: one wildcard subscription `_INBOX.<nuid>.*` per connection; request N is published
// with the reply subject `_INBOX.<nuid>.N`; the reply handler finds token N in `pending`. A reply
// with the status header 503 (the server's "no responders", sent because the connection declares
// headers and no_responders in CONNECT) completes with no_responders.
#include "cluster/nats_bus.hpp"

#include <nats/nats.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace actorsync::cluster {

using storage::storage_errc;
using storage::storage_error;

namespace {

using steady = std::chrono::steady_clock;

struct pending_request {
  nats_bus::reply_callback done;
  std::string subject;
  steady::time_point start;
  std::multimap<steady::time_point, std::uint64_t>::iterator deadline;
};

struct completion {
  nats_bus::reply_callback done;
  bool ok = false;
  std::string payload;
  bus_error error;
};

}  // namespace

/// Requests, completions and counters: see the top of this file.
struct bus_core {
  std::mutex mutex;
  std::condition_variable wake;  // the completion thread: a completion is ready, or a deadline
  std::map<std::uint64_t, pending_request> pending;
  std::multimap<steady::time_point, std::uint64_t> deadlines;  // of `pending`, earliest first
  std::deque<completion> ready;
  std::uint64_t next_token = 1;
  bool closing = false;  // no new request is sent; the completion thread ends once `ready` is empty
  bus_stats stats;       // `connected` is filled in by stats()

  /// Queues a completion for the completion thread. Called with `mutex` held.
  void complete(nats_bus::reply_callback done, bool ok, std::string payload, bus_error error) {
    ready.push_back({std::move(done), ok, std::move(payload), std::move(error)});
    wake.notify_one();
  }
};

namespace {

/// The completion thread: runs every request's `done`, one at a time, and times requests out.
void run_completions(const std::shared_ptr<bus_core>& core) {
  std::unique_lock lock(core->mutex);
  for (;;) {
    const auto now = steady::now();
    while (!core->deadlines.empty() && core->deadlines.begin()->first <= now) {
      const auto found = core->pending.find(core->deadlines.begin()->second);
      core->deadlines.erase(core->deadlines.begin());
      ++core->stats.timeouts;
      core->complete(std::move(found->second.done), false, {},
                     {bus_errc::timeout, "no reply to " + found->second.subject + " in time"});
      core->pending.erase(found);
    }
    if (!core->ready.empty()) {
      auto batch = std::move(core->ready);
      core->ready.clear();
      lock.unlock();
      for (auto& c : batch) {
        // A callback that throws is a bug: std::terminate, here as anywhere on a thread.
        c.done(c.ok, std::move(c.payload), std::move(c.error));
      }
      batch.clear();  // the callbacks' captures go before the lock is taken again
      lock.lock();
      continue;
    }
    if (core->closing) return;
    if (core->deadlines.empty()) {
      core->wake.wait(lock);
    } else {
      core->wake.wait_until(lock, core->deadlines.begin()->first);
    }
  }
}

struct msg_deleter {
  void operator()(natsMsg* msg) const { natsMsg_Destroy(msg); }
};
using owned_msg = std::unique_ptr<natsMsg, msg_deleter>;

std::string_view data_of(natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  return data ? std::string_view(data, static_cast<std::size_t>(natsMsg_GetDataLength(msg)))
              : std::string_view();
}

/// A reply (or a no-responders status) on `_INBOX.<nuid>.<token>`.
void on_reply(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
  owned_msg msg(raw);
  auto& core = **static_cast<std::shared_ptr<bus_core>*>(closure);
  const std::string_view subject = natsMsg_GetSubject(msg.get());
  const auto dot = subject.rfind('.');
  std::uint64_t token = 0;
  for (const char c : subject.substr(dot + 1)) {
    if (c < '0' || c > '9') return;  // not ours
    token = token * 10 + static_cast<std::uint64_t>(c - '0');
  }
  std::lock_guard lock(core.mutex);
  const auto found = core.pending.find(token);
  if (found == core.pending.end()) return;  // timed out or closed already
  auto& request = found->second;
  if (natsMsg_IsNoResponders(msg.get())) {
    ++core.stats.no_responders;
    core.complete(std::move(request.done), false, {},
                  {bus_errc::no_responders, "no subscriber to " + request.subject});
  } else {
    ++core.stats.replies;
    core.stats.round_trip_us_sum += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - request.start)
            .count());
    core.complete(std::move(request.done), true, std::string(data_of(msg.get())), {});
  }
  core.deadlines.erase(request.deadline);
  core.pending.erase(found);
}

void release_core(void* closure) {
  delete static_cast<std::shared_ptr<bus_core>*>(closure);
}

void on_reconnected(natsConnection*, void* closure) {
  auto& core = **static_cast<std::shared_ptr<bus_core>*>(closure);
  std::lock_guard lock(core.mutex);
  ++core.stats.reconnects;
}

/// The closed callback is the last libnats makes with the connection callbacks' closure.
void on_closed(natsConnection*, void* closure) {
  release_core(closure);
}

std::string nats_error_text(natsStatus status) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  if (text && *text && last == status) return text;
  return natsStatus_GetText(status);
}

/// Valid NATS subject: dot-separated non-empty tokens without whitespace; with `wildcards`, a
/// token may be `*`, and the last one `>`.
bool valid_subject(std::string_view subject, bool wildcards) {
  if (subject.empty()) return false;
  std::size_t start = 0;
  for (;;) {
    const auto end = std::min(subject.find('.', start), subject.size());
    const auto token = subject.substr(start, end - start);
    if (token.empty()) return false;
    for (const char c : token) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return false;
      if ((c == '*' || c == '>') && (!wildcards || token.size() != 1)) return false;
    }
    if (token == ">" && end != subject.size()) return false;
    if (end == subject.size()) return true;
    start = end + 1;
  }
}

/// Why nothing accepts TCP connections at a nats:// URL ("connection refused"), found with one
/// plain connect after libnats gave up (libnats reports only "no server available"). Empty when
/// the port does accept (then the NATS handshake failed, and libnats' own error says why).
std::string why_unreachable(const std::string& url, std::chrono::milliseconds timeout) {
  std::string rest = url;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) {
    rest = rest.substr(scheme + 3);
  }
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  std::string host = rest, port = "4222";
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    host = rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < rest.size() && rest[close + 1] == ':') {
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
  }
  std::string why;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int error = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
          error = ETIMEDOUT;
        } else {
          socklen_t size = sizeof error;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        }
      }
    }
    ::close(fd);
    if (error == 0) {
      why.clear();
      break;
    }
    if (error == ECONNREFUSED) {
      why = "connection refused";
    } else if (error == ETIMEDOUT) {
      why = "no answer within " + std::to_string(timeout.count()) + " ms";
    } else {
      why = std::strerror(error);
    }
  }
  ::freeaddrinfo(found);
  return why;
}

std::string joined(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& url : urls) out += (out.empty() ? "" : ", ") + url;
  return out;
}

struct options_deleter {
  void operator()(natsOptions* options) const { natsOptions_Destroy(options); }
};

}  // namespace

/// The libnats connection: see the top of this file.
struct bus_connection {
  natsConnection* nats = nullptr;
  std::shared_ptr<bus_core> core = std::make_shared<bus_core>();
  std::string inbox;  // "_INBOX.<nuid>." (a request's token is appended)
  std::chrono::milliseconds flush_timeout{2000};
  std::thread completions;
  std::mutex lifecycle;  // subscribe() against close(): a subscription gets its on-complete first
  bool closed = false;   // under `lifecycle`

  ~bus_connection() {
    close();
    if (nats) natsConnection_Destroy(nats);
  }

  bool is_connected() const {
    return nats && natsConnection_Status(nats) == NATS_CONN_STATUS_CONNECTED;
  }

  /// Fails pending requests with closed, closes the connection (libnats closes every
  /// subscription) and ends the completion thread after the last callback.
  void close() {
    {
      std::lock_guard lock(lifecycle);
      if (closed) return;
      closed = true;
      {
        std::lock_guard core_lock(core->mutex);
        core->closing = true;
        for (auto& [token, request] : core->pending) {
          core->complete(
              std::move(request.done), false, {},
              {bus_errc::closed, "the bus closed before a reply to " + request.subject + " came"});
        }
        core->pending.clear();
        core->deadlines.clear();
        core->wake.notify_one();
      }
      if (nats) natsConnection_Close(nats);
    }
    if (completions.joinable()) {
      // Inside a request callback (the bus's last owner dropped there): the thread finishes the
      // queue after that callback returns; it owns the core.
      if (completions.get_id() == std::this_thread::get_id()) {
        completions.detach();
      } else {
        completions.join();
      }
    }
  }

  static bus_responder responder(std::shared_ptr<bus_connection> connection, std::string reply) {
    bus_responder out;
    out.connection_ = std::move(connection);
    out.reply_subject_ = std::move(reply);
    return out;
  }
};

namespace {

/// One subscription's handler (see the top of this file).
struct subscription_entry {
  std::weak_ptr<bus_connection> connection;  // for responders; a closed bus answers nothing
  std::shared_ptr<bus_core> core;
  nats_bus::message_handler handler;
};

void on_message(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
  owned_msg msg(raw);
  auto& entry = *static_cast<subscription_entry*>(closure);
  {
    std::lock_guard lock(entry.core->mutex);
    ++entry.core->stats.received;
  }
  const char* reply = natsMsg_GetReply(msg.get());
  // A handler that throws is a bug; the exception must not unwind through libnats' C frames.
  [&]() noexcept {
    entry.handler(natsMsg_GetSubject(msg.get()), std::string(data_of(msg.get())),
                  bus_connection::responder(entry.connection.lock(), reply ? reply : ""));
  }();
}

void release_entry(void* closure) {
  delete static_cast<subscription_entry*>(closure);
}

/// What a bus_subscription holds: unsubscribes on destruction.
class subscription_handle {
 public:
  subscription_handle(std::shared_ptr<bus_connection> connection, natsSubscription* subscription)
      : connection_(std::move(connection)), subscription_(subscription) {}
  ~subscription_handle() {
    natsSubscription_Unsubscribe(subscription_);  // fails harmlessly once the bus closed
    natsSubscription_Destroy(subscription_);
  }
  subscription_handle(const subscription_handle&) = delete;
  subscription_handle& operator=(const subscription_handle&) = delete;

 private:
  std::shared_ptr<bus_connection> connection_;  // the natsConnection outlives the subscription
  natsSubscription* subscription_;
};

}  // namespace

std::string_view to_string(bus_errc code) {
  switch (code) {
    case bus_errc::no_responders:
      return "no_responders";
    case bus_errc::timeout:
      return "timeout";
    case bus_errc::disconnected:
      return "disconnected";
    case bus_errc::closed:
      return "closed";
    case bus_errc::invalid_request:
      return "invalid_request";
  }
  return "unknown";
}

bool bus_responder::respond(std::string_view payload) const {
  if (!connection_ || reply_subject_.empty() || !connection_->nats) return false;
  // While reconnecting libnats buffers the reply (up to its 8 MB reconnect buffer) and sends it
  // after the reconnect: the requester may still be waiting.
  return natsConnection_Publish(connection_->nats, reply_subject_.c_str(), payload.data(),
                                static_cast<int>(payload.size())) == NATS_OK;
}

bus_subscription::bus_subscription(bus_subscription&&) noexcept = default;
bus_subscription& bus_subscription::operator=(bus_subscription&&) noexcept = default;
bus_subscription::~bus_subscription() = default;
void bus_subscription::reset() {
  handle_.reset();
}

storage::result<std::shared_ptr<nats_bus>> nats_bus::connect(bus_options options) {
  if (options.urls.empty()) {
    return storage_error{storage_errc::invalid_argument, "no NATS server URL given"};
  }
  natsOptions* raw_options = nullptr;
  if (natsOptions_Create(&raw_options) != NATS_OK) {
    return storage_error{storage_errc::unavailable,
                         "libnats could not start: " + nats_error_text(NATS_ERR)};
  }
  std::unique_ptr<natsOptions, options_deleter> nats_options(raw_options);
  auto connection = std::make_shared<bus_connection>();
  connection->flush_timeout = options.connect_timeout;

  std::vector<const char*> servers;
  for (const auto& url : options.urls) servers.push_back(url.c_str());
  auto* callbacks_closure = new std::shared_ptr<bus_core>(connection->core);
  natsStatus s =
      natsOptions_SetServers(nats_options.get(), servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK && !options.name.empty()) {
    s = natsOptions_SetName(nats_options.get(), options.name.c_str());
  }
  if (s == NATS_OK) s = natsOptions_SetTimeout(nats_options.get(), options.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(nats_options.get(), true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(nats_options.get(), -1);  // forever
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectWait(nats_options.get(), options.reconnect_wait.count());
  }
  if (s == NATS_OK) {
    s = natsOptions_SetPingInterval(nats_options.get(), options.ping_interval.count());
  }
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(nats_options.get(), 2);
  // One shared delivery thread for all subscriptions, instead of a thread per subscription.
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(nats_options.get(), true);
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectedCB(nats_options.get(), on_reconnected, callbacks_closure);
  }
  if (s == NATS_OK) s = natsOptions_SetClosedCB(nats_options.get(), on_closed, callbacks_closure);
  if (s != NATS_OK) {
    delete callbacks_closure;
    return storage_error{storage_errc::invalid_argument,
                         "NATS options refused: " + nats_error_text(s)};
  }

  s = natsConnection_Connect(&connection->nats, nats_options.get());
  if (s != NATS_OK) {
    delete callbacks_closure;  // a failed connect makes no callback
    connection->nats = nullptr;
    const std::string cause = nats_error_text(s);
    std::string message;
    if (s == NATS_NO_SERVER) {
      for (const auto& url : options.urls) {
        auto why = why_unreachable(url, options.connect_timeout);
        message +=
            (message.empty() ? "" : "; ") + ("NATS at " + url + ": ") +
            (why.empty() ? "accepts TCP connections but the NATS handshake failed (" + cause + ")"
                         : why);
      }
    } else {
      message = "NATS at " + joined(options.urls) + ": " + cause;
    }
    return storage_error{s == NATS_INVALID_ARG || s == NATS_ADDRESS_MISSING
                             ? storage_errc::invalid_argument
                             : storage_errc::unavailable,
                         message};
  }

  natsInbox* inbox = nullptr;
  s = natsInbox_Create(&inbox);
  if (s == NATS_OK) {
    connection->inbox = std::string(inbox) + ".";
    natsInbox_Destroy(inbox);
    auto* reply_closure = new std::shared_ptr<bus_core>(connection->core);
    natsSubscription* replies = nullptr;
    s = natsConnection_Subscribe(&replies, connection->nats, (connection->inbox + "*").c_str(),
                                 on_reply, reply_closure);
    if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(replies, release_core, reply_closure);
    if (s != NATS_OK && replies == nullptr) delete reply_closure;
    // The reply subscription lives as long as the connection (closed with it); only the handle
    // goes here. Flushing makes the server know it before the first request.
    if (replies) natsSubscription_Destroy(replies);
    if (s == NATS_OK) {
      s = natsConnection_FlushTimeout(connection->nats, options.connect_timeout.count());
    }
  }
  if (s != NATS_OK) {
    return storage_error{storage_errc::unavailable,
                         "NATS at " + joined(options.urls) +
                             ": subscribing to replies failed: " + nats_error_text(s)};
  }

  connection->completions = std::thread([core = connection->core] { run_completions(core); });
  std::shared_ptr<nats_bus> bus(new nats_bus());
  bus->connection_ = std::move(connection);
  return bus;
}

nats_bus::~nats_bus() {
  connection_->close();
}

void nats_bus::request(const std::string& subject, std::string_view payload,
                       std::chrono::milliseconds timeout, reply_callback done) {
  auto& core = *connection_->core;
  const auto fail_now = [&](bus_errc code, std::string message) {
    std::lock_guard lock(core.mutex);
    core.complete(std::move(done), false, {}, {code, std::move(message)});
  };
  if (!valid_subject(subject, false)) {
    return fail_now(bus_errc::invalid_request, "not a subject to send to: '" + subject + "'");
  }
  if (static_cast<std::int64_t>(payload.size()) > max_payload()) {
    return fail_now(bus_errc::invalid_request, "request to " + subject + " of " +
                                                   std::to_string(payload.size()) +
                                                   " bytes: over the server's max_payload of " +
                                                   std::to_string(max_payload()));
  }
  // Checked first so that libnats does not buffer the request during a reconnect (only a
  // request racing the disconnect itself is buffered; it then waits for a reply or times out).
  if (!connection_->is_connected()) {
    return fail_now(bus_errc::disconnected,
                    "not connected to NATS (reconnecting); " + subject + " was not sent");
  }
  std::uint64_t token = 0;
  {
    std::lock_guard lock(core.mutex);
    if (core.closing) {
      core.complete(std::move(done), false, {}, {bus_errc::closed, "the bus is closing"});
      return;
    }
    token = core.next_token++;
    const auto now = steady::now();
    const auto deadline = core.deadlines.emplace(now + timeout, token);
    core.pending.emplace(token, pending_request{std::move(done), subject, now, deadline});
    ++core.stats.requests;
    if (deadline == core.deadlines.begin()) core.wake.notify_one();  // an earlier deadline
  }
  const std::string reply = connection_->inbox + std::to_string(token);
  const natsStatus s =
      natsConnection_PublishRequest(connection_->nats, subject.c_str(), reply.c_str(),
                                    payload.data(), static_cast<int>(payload.size()));
  if (s == NATS_OK) return;
  std::lock_guard lock(core.mutex);
  const auto found = core.pending.find(token);
  if (found == core.pending.end()) return;  // completed meanwhile (closed)
  const bus_errc code = s == NATS_CONNECTION_CLOSED ? bus_errc::closed
                        : s == NATS_MAX_PAYLOAD     ? bus_errc::invalid_request
                                                    : bus_errc::disconnected;
  --core.stats.requests;
  core.complete(std::move(found->second.done), false, {},
                {code, "sending to " + subject + " failed: " + nats_error_text(s)});
  core.deadlines.erase(found->second.deadline);
  core.pending.erase(found);
}

bool nats_bus::publish(const std::string& subject, std::string_view payload) {
  if (!valid_subject(subject, false) || !connection_->is_connected()) return false;
  if (natsConnection_Publish(connection_->nats, subject.c_str(), payload.data(),
                             static_cast<int>(payload.size())) != NATS_OK) {
    return false;
  }
  std::lock_guard lock(connection_->core->mutex);
  ++connection_->core->stats.published;
  return true;
}

storage::result<bus_subscription> nats_bus::subscribe(const std::string& subject,
                                                      message_handler handler) {
  if (!valid_subject(subject, true)) {
    return storage_error{storage_errc::invalid_argument,
                         "not a subject to subscribe to: '" + subject + "'"};
  }
  auto& connection = *connection_;
  std::lock_guard lock(connection.lifecycle);
  if (connection.closed) return storage_error{storage_errc::closed, "the bus is closed"};
  auto* entry = new subscription_entry{connection_, connection.core, std::move(handler)};
  natsSubscription* subscription = nullptr;
  natsStatus s =
      natsConnection_Subscribe(&subscription, connection.nats, subject.c_str(), on_message, entry);
  if (s != NATS_OK) {
    delete entry;
    return storage_error{storage_errc::unavailable,
                         "subscribing to " + subject + " failed: " + nats_error_text(s)};
  }
  // Cannot fail: the subscription is open (only close() closes it, and `lifecycle` is held).
  natsSubscription_SetOnCompleteCB(subscription, release_entry, entry);
  if (connection.is_connected()) {
    // The server has the subscription once its PONG came. A failure here (the connection just
    // dropped) leaves the subscription to libnats, which sends it again on reconnect.
    natsConnection_FlushTimeout(connection.nats, connection.flush_timeout.count());
  }
  bus_subscription out;
  out.handle_ = std::make_shared<subscription_handle>(connection_, subscription);
  return out;
}

bus_stats nats_bus::stats() const {
  bus_stats out;
  {
    std::lock_guard lock(connection_->core->mutex);
    out = connection_->core->stats;
  }
  out.connected = connected();
  return out;
}

bool nats_bus::connected() const {
  return connection_->is_connected();
}

std::string nats_bus::connected_url() const {
  char buffer[512];
  if (natsConnection_GetConnectedUrl(connection_->nats, buffer, sizeof buffer) != NATS_OK) {
    return {};
  }
  return buffer;
}

std::int64_t nats_bus::max_payload() const {
  return natsConnection_GetMaxPayload(connection_->nats);
}

std::string subject_token(std::string_view realm_path) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(realm_path.size() * 2);
  for (const char c : realm_path) {
    const auto byte = static_cast<unsigned char>(c);
    out += digits[byte >> 4];
    out += digits[byte & 0x0f];
  }
  return out;
}

}  // namespace actorsync::cluster
