// The fleet's aggregate state, pushed by the sessions and read in O(1): counts of sessions by
// state, connection and condition, bytes pending both ways, and the oldest unacknowledged write
// of any session. Each session keeps what it last contributed (fleet_contribution) and applies
// only the difference, so reading never asks a session anything. Pure logic (atomics and one
// mutex for the oldest write), no CAF.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <utility>

#include <actorsync/actors/session_types.hpp>
#include "actors/latency_histogram.hpp"

namespace actorsync::runtime {

/// What one session adds to the fleet's figures. 32 bytes, kept in its published_status.
struct fleet_contribution {
  static constexpr auto none = std::chrono::steady_clock::time_point::max();
  std::uint64_t unacknowledged_bytes = 0;
  std::uint64_t download_remaining_bytes = 0;
  /// When the session noticed its oldest unacknowledged write; `none` when all are.
  std::chrono::steady_clock::time_point oldest_unacknowledged = none;
  session_state state = session_state::active;
  connection_state connection = connection_state::disconnected;
  bool in_error = false;  ///< its latest event is an error it has not recovered from
  bool waiting_for_upload = false;
  bool waiting_for_download = false;
  bool counted = false;  ///< added to the counters (false before the first update, after removal)
  friend bool operator==(const fleet_contribution&, const fleet_contribution&) = default;
};

class fleet_counters {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Replaces `mine` (what the session `key` contributed) by `now`; a no-op when equal. Called
  /// by one session at a time for its own contribution.
  void update(fleet_contribution& mine, fleet_contribution now, const void* key);
  /// The session is gone: its contribution leaves the figures.
  void remove(fleet_contribution& mine, const void* key);

  /// The figures now (each exact; together a snapshot within concurrent updates).
  fleet_status read(time_point now) const;

  /// From when a session noticed a local commit to its acknowledgement by the server.
  latency_histogram commit_to_acknowledgement;
  /// From a remote writer's commit (its changeset's origin timestamp, wall clock) to its
  /// integration here: upload, server and download together.
  latency_histogram remote_commit_to_visible;

 private:
  enum slot : std::size_t {
    sessions,
    active,
    paused,
    inactive,
    disconnected,
    connecting,
    connected,
    in_error,
    uploading,
    waiting_for_upload,
    waiting_for_download,
    unacknowledged_bytes,
    download_remaining_bytes,
    slot_count
  };
  void apply(const fleet_contribution& c, std::int64_t sign);
  std::array<std::atomic<std::int64_t>, slot_count> counts_{};
  mutable std::mutex oldest_mutex_;
  std::set<std::pair<time_point, const void*>> oldest_;  ///< per uploading session
};

}  // namespace actorsync::runtime
