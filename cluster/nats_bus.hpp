// The bus between the nodes of a cluster: NATS core messaging (libnats) behind a small
// interface. Requests to one subject with an asynchronous reply (and NATS's "no responders"
// status told apart from a timeout), publications, and subscriptions whose handlers may answer.
// NATS keeps nothing durable: callers treat every request as possibly lost and retry (uploads
// are idempotent), and fill missed publications from PostgreSQL.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <actorsync/storage/errors.hpp>

namespace actorsync::cluster {

struct bus_connection;  // nats_bus.cpp: the libnats connection, shared with responders

struct bus_options {
  std::vector<std::string> urls;  ///< nats://127.0.0.1:4222, ...; any of them, reconnects to others
  std::string name;               ///< connection name shown by the NATS server (node id)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait{100};  ///< between attempts (after trying every URL)
  /// Pings the server this often; two missed pongs count as a lost connection (a stopped server
  /// is noticed after two or three intervals; a crashed one at once).
  std::chrono::milliseconds ping_interval{2000};
};

enum class bus_errc {
  no_responders = 1,  ///< nobody subscribes to the subject now (the realm has no owner)
  timeout,            ///< no reply in time: the request may or may not have been handled
  disconnected,       ///< the bus is down (reconnecting); nothing was sent
  closed,             ///< the bus is shutting down
  /// The subject is not valid (empty, empty token, whitespace, a wildcard) or the payload is over
  /// the server's max_payload (1 MB unless configured): nothing was sent; resending fails again.
  invalid_request,
};
std::string_view to_string(bus_errc code);

struct bus_error {
  bus_errc code;
  std::string message;
};

/// Counters since connect (metrics, tests).
struct bus_stats {
  std::uint64_t requests = 0;
  std::uint64_t replies = 0;
  std::uint64_t no_responders = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t published = 0;
  std::uint64_t received = 0;  ///< messages delivered to subscription handlers
  std::uint64_t reconnects = 0;
  std::uint64_t round_trip_us_sum = 0;  ///< over replied requests
  bool connected = false;
};

/// Answers one request (copyable; answering a message without a reply subject does nothing).
/// respond() publishes to the request's reply subject (false when the bus is down or closed).
class bus_responder {
 public:
  bus_responder() = default;
  bool respond(std::string_view payload) const;
  bool expects_reply() const { return !reply_subject_.empty(); }

 private:
  friend struct bus_connection;
  std::shared_ptr<bus_connection> connection_;
  std::string reply_subject_;
};

/// Unsubscribes on destruction (or reset()); movable. Once reset() returned the handler does not
/// start again; a call already running on a delivery thread finishes (reset() from inside the
/// handler itself is allowed).
class bus_subscription {
 public:
  bus_subscription() = default;
  bus_subscription(bus_subscription&&) noexcept;
  bus_subscription& operator=(bus_subscription&&) noexcept;
  ~bus_subscription();
  void reset();
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  friend class nats_bus;
  std::shared_ptr<void> handle_;
};

/// Thread-safe. Threads:
/// - request callbacks (`done`) run on the bus's own completion thread, one at a time, never
///   inside request() itself;
/// - subscription handlers run on libnats' message delivery thread (one shared thread by
///   default, which also reads this bus's replies).
/// Neither may block for long: send a message to an actor and return. Never wait inside a
/// handler for a reply of this bus (the reply is read by the thread that waits).
/// While the connection is lost libnats reconnects forever, to any of the URLs (and servers the
/// cluster announced); subscriptions are restored by libnats on reconnect.
class nats_bus {
 public:
  /// Connects to any of the URLs; an error names the URLs and the cause ("connection refused").
  static storage::result<std::shared_ptr<nats_bus>> connect(bus_options options);
  /// Fails pending requests with closed (their callbacks have returned when this returns, unless
  /// it runs inside one), stops the subscriptions and closes the connection.
  ~nats_bus();

  using reply_callback = std::function<void(bool ok, std::string payload, bus_error error)>;
  /// Publishes `payload` to `subject` with a reply subject of this connection; `done` runs once:
  /// with the reply, or with no_responders, timeout, disconnected, invalid_request or closed.
  /// A request pending when the connection drops stays pending: its reply may still arrive after
  /// the reconnect, else it times out.
  void request(const std::string& subject, std::string_view payload,
               std::chrono::milliseconds timeout, reply_callback done);
  /// Fire and forget (change notices); false when the bus is down (nothing is buffered for
  /// later: a notice lost here is filled from PostgreSQL like any other) or the request invalid.
  bool publish(const std::string& subject, std::string_view payload);

  /// `subject` is valid only during the call.
  using message_handler =
      std::function<void(std::string_view subject, std::string payload, bus_responder reply)>;
  /// Subscribes to a subject (wildcards allowed). The handler runs for each message, in order.
  /// When connected, the server this bus is connected to has the subscription when this returns;
  /// the other servers of a NATS cluster learn it shortly after.
  storage::result<bus_subscription> subscribe(const std::string& subject, message_handler handler);

  bus_stats stats() const;
  bool connected() const;
  /// The server this bus is connected to now ("nats://127.0.0.1:4222"); empty while reconnecting.
  std::string connected_url() const;
  /// The largest payload the server accepts (bytes; from the server's INFO).
  std::int64_t max_payload() const;

 private:
  nats_bus() = default;
  std::shared_ptr<bus_connection> connection_;
};

/// A realm path as one NATS subject token ('.', '*', '>' and spaces are not allowed in tokens):
/// lower-case hex of its bytes.
std::string subject_token(std::string_view realm_path);

}  // namespace actorsync::cluster
