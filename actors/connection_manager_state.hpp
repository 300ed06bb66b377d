// State of the connection manager (behaviour in connection_manager.cpp). Runs on the manager
// actor only; the I/O side reaches it through messages (client_websocket.hpp).
//
// Link life cycle:
//   [connecting] ──socket_opened──► [connected] ──socket_failed / pong timeout──► [waiting]
//        ▲  │ connect timeout, socket_failed (retryable)                            │ backoff
//        │  └──────────────────────────────────────────────► [waiting] ──retry────┘
//        │ a session attaches / reconnect()          fatal error ──► [failed] (no retry)
//   last session left ──linger──► link closed and forgotten
// Every failure (the arrows into [waiting] and [failed]) moves the link to the next server of
// config.urls; the backoff is the link's, whichever server it tries.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <actorsync/actors/session_messages.hpp>
#include "actors/client_websocket.hpp"
#include "actors/connection_manager.hpp"
#include "actors/link_outbox.hpp"

namespace actorsync::runtime {

enum class link_status : std::uint8_t { connecting, connected, waiting, failed };

struct link_entry {
  using clock = std::chrono::steady_clock;
  std::uint64_t id = 0;
  std::uint64_t generation = 0;  ///< bumped at every connection attempt
  std::size_t server = 0;        ///< position in config.urls of this (or the next) attempt
  std::string key;
  std::string token;
  link_status status = link_status::waiting;
  std::shared_ptr<client_websocket> io;
  std::unordered_map<caf::actor_id, caf::actor> sessions;
  std::unordered_map<protocol::session_ident, caf::actor> routes;
  link_outbox<outgoing_frame> outbox;
  std::optional<outgoing_frame> in_flight;  ///< one write in flight per socket
  reconnect_backoff backoff;
  clock::time_point last_activity{};
  clock::time_point ping_sent_at{};
  bool ping_outstanding = false;
  std::uint64_t linger_generation = 0;
  bool close_when_flushed = false;

  link_entry(backoff_config config) : backoff(config, default_random_source()) {}
};

struct connection_manager_state {
  using clock = link_entry::clock;
  connection_manager_config config;
  spdlog::logger& log() const { return logger_or_default(config.log); }
  caf::stateful_actor<connection_manager_state, connection_manager_impl::base>* self = nullptr;
  std::map<std::uint64_t, link_entry> links;
  /// The link of each key that takes new sessions (the newest; older full ones keep theirs).
  std::unordered_map<std::string, std::uint64_t> links_by_key;
  /// Where each attached session is: its link, and the ident of its latest binding (so that
  /// leaving removes its route directly; scanning every route made 100,000 sessions leaving
  /// take minutes).
  struct attachment {
    std::uint64_t link = 0;
    protocol::session_ident ident = 0;
  };
  std::unordered_map<caf::actor_id, attachment> session_links;
  std::uint64_t next_link = 1;
  std::uint64_t connects = 0;
  std::vector<std::uint64_t> connects_per_server;  ///< parallel to config.urls
  std::vector<std::uint64_t> failures_by_reason;   ///< by sync_errc value, grown as needed
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;

  /// Burst release (memory_release.hpp): sessions attached or left since the last release,
  /// when a frame last moved, whether the release timer runs, releases so far.
  struct burst_release {
    std::size_t churn = 0;
    clock::time_point last_traffic{};
    bool timer_armed = false;
    std::uint64_t releases = 0;
  } release;

  static inline const char* name = "actorsync.connection_manager";

  link_entry* find(std::uint64_t id, std::uint64_t generation);
  void attach(const std::string& key, const std::string& token, const caf::actor& session);
  void detach(const caf::actor_addr& session);
  void enqueue(outgoing_frame frame);
  void connect(link_entry& link);
  void opened(const socket_opened& event);
  void received(const socket_frame& event);
  void written(const socket_written& event);
  void failed(link_entry& link, sync_errc code, const std::string& message);
  void keepalive(std::uint64_t id, std::uint64_t generation);
  void linger_expired(std::uint64_t id, std::uint64_t generation);
  void reconnect_all();
  void close(link_entry& link);
  void pump(link_entry& link);
  void tell_sessions(link_entry& link, const link_event& event);
  void session_churn();  ///< a session attached, bound or left: arm the release after a burst
  void release_check();  ///< the timer: release if no frame moved for release_quiet
  link_statistics statistics() const;
  void shutdown();
};

}  // namespace actorsync::runtime
