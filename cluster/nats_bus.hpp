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

struct bus_options {
  std::vector<std::string> urls;  ///< nats://127.0.0.1:4222, ...; any of them, reconnects to others
  std::string name;               ///< connection name shown by the NATS server (node id)
  std::chrono::milliseconds connect_timeout{2000};
};

enum class bus_errc {
  no_responders = 1,  ///< nobody subscribes to the subject now (the realm has no owner)
  timeout,            ///< no reply in time: the request may or may not have been handled
  disconnected,       ///< the bus is down (reconnecting); nothing was sent
  closed,             ///< the bus is shutting down
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
  std::uint64_t received = 0;      ///< messages delivered to subscription handlers
  std::uint64_t reconnects = 0;
  std::uint64_t round_trip_us_sum = 0;  ///< over replied requests
  bool connected = false;
};

/// Answers one request (copyable; answering a message without a reply subject does nothing).
class bus_responder {
 public:
  bus_responder() = default;
  void respond(std::string_view payload) const;
  bool expects_reply() const { return !reply_subject_.empty(); }

 private:
  friend class nats_bus;
  std::shared_ptr<struct bus_connection> connection_;
  std::string reply_subject_;
};

/// Unsubscribes on destruction (or reset()); movable.
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

/// Thread-safe. Callbacks and handlers run on libnats threads: they must not block for long
/// (send a message to an actor and return).
class nats_bus {
 public:
  /// Connects to any of the URLs; an error names the URLs and the cause ("connection refused").
  static storage::result<std::shared_ptr<nats_bus>> connect(bus_options options);
  ~nats_bus();  ///< stops subscriptions, fails pending requests with closed, closes

  using reply_callback = std::function<void(bool ok, std::string payload, bus_error error)>;
  /// Publishes `payload` to `subject` with a reply subject of this connection; `done` runs once:
  /// with the reply, or with no_responders, timeout, disconnected or closed.
  void request(const std::string& subject, std::string_view payload,
               std::chrono::milliseconds timeout, reply_callback done);
  /// Fire and forget (change notices); false when the bus is down.
  bool publish(const std::string& subject, std::string_view payload);

  using message_handler = std::function<void(std::string_view subject, std::string payload,
                                             bus_responder reply)>;
  /// Subscribes to a subject (wildcards allowed). The handler runs for each message, in order.
  storage::result<bus_subscription> subscribe(const std::string& subject, message_handler handler);

  bus_stats stats() const;
  bool connected() const;

 private:
  nats_bus() = default;
  std::shared_ptr<bus_connection> connection_;
};

/// A realm path as one NATS subject token ('.', '*', '>' and spaces are not allowed in tokens):
/// lower-case hex of its bytes.
std::string subject_token(std::string_view realm_path);

}  // namespace actorsync::cluster
