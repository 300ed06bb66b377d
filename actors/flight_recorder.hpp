// A session's flight recorder: its last N events (state and connection changes, errors, frames
// sent and received in summary) in a fixed ring of 16-byte records, for explain() and for the
// log when a fatal error stops the session. Pure logic, no CAF.
//
// Times are kept as 32-bit milliseconds since the recorder was made: an event older than 49
// days would show a wrong age, and a ring of a few dozen events of a living session never holds
// one that old.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <actorsync/actors/session_types.hpp>

namespace actorsync::runtime {

enum class recorded_kind : std::uint8_t {
  state,           ///< detail: session_state
  connection,      ///< detail: connection_state
  bind_sent,       ///< value: session ident
  ident_received,  ///< value: client file ident
  upload_sent,     ///< value: newest client version in it; count: changesets
  acknowledged,    ///< value: client version acknowledged
  download,        ///< value: server version after it; count: changesets
  mark_sent,       ///< value: request ident
  mark_received,   ///< value: request ident
  error,           ///< detail: sync_errc; value: retry delay in ms (0: fatal or none)
  reset_begun,     ///< detail: client_reset_reason
  reset_finished,  ///< value: changesets recovered
};

struct recorded_event {
  std::uint32_t at_ms = 0;  ///< since the recorder's origin
  recorded_kind kind = recorded_kind::state;
  std::uint8_t detail = 0;
  std::uint16_t count = 0;
  std::uint64_t value = 0;
};
static_assert(sizeof(recorded_event) == 16);

class flight_recorder {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// `capacity` 0: records nothing.
  flight_recorder(std::size_t capacity, time_point origin);

  void record(time_point now, recorded_kind kind, std::uint8_t detail = 0, std::uint64_t value = 0,
              std::uint16_t count = 0);

  std::size_t capacity() const { return capacity_; }
  std::size_t size() const { return size_; }
  /// The events, oldest first, with their age at `now`.
  std::vector<session_event_record> events(time_point now) const;
  /// "connection: connected", "error: pong_timeout (retry in 1200 ms)", ...
  static std::string describe(const recorded_event& event);

 private:
  std::unique_ptr<recorded_event[]> ring_;
  std::uint32_t capacity_ = 0;
  std::uint32_t next_ = 0;  ///< where the next event goes
  std::uint32_t size_ = 0;
  time_point origin_;
};

}  // namespace actorsync::runtime
