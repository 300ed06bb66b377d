#include "actors/flight_recorder.hpp"

namespace actorsync::runtime {

namespace {

std::uint32_t millis_since(flight_recorder::time_point origin, flight_recorder::time_point now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - origin).count();
  return static_cast<std::uint32_t>(ms < 0 ? 0 : ms);  // wraps after 49 days (see header)
}

std::string with_count(std::string text, std::uint16_t count, const char* unit) {
  return text + " (" + std::to_string(count) + " " + unit + ")";
}

}  // namespace

flight_recorder::flight_recorder(std::size_t capacity, time_point origin)
    : ring_(capacity == 0 ? nullptr : new recorded_event[capacity]),
      capacity_(static_cast<std::uint32_t>(capacity)),
      origin_(origin) {}

void flight_recorder::record(time_point now, recorded_kind kind, std::uint8_t detail,
                             std::uint64_t value, std::uint16_t count) {
  if (capacity_ == 0) return;
  ring_[next_] = recorded_event{millis_since(origin_, now), kind, detail, count, value};
  next_ = next_ + 1 == capacity_ ? 0 : next_ + 1;
  if (size_ < capacity_) ++size_;
}

std::vector<session_event_record> flight_recorder::events(time_point now) const {
  std::vector<session_event_record> out;
  out.reserve(size_);
  const auto now_ms = millis_since(origin_, now);
  const auto first = (next_ + capacity_ - size_) % (capacity_ == 0 ? 1 : capacity_);
  for (std::uint32_t i = 0; i < size_; ++i) {
    const auto& event = ring_[(first + i) % capacity_];
    // Unsigned subtraction: right across the 32-bit wrap too.
    out.push_back({std::chrono::milliseconds(static_cast<std::uint32_t>(now_ms - event.at_ms)),
                   describe(event)});
  }
  return out;
}

std::string flight_recorder::describe(const recorded_event& e) {
  const auto value = std::to_string(e.value);
  switch (e.kind) {
    case recorded_kind::state:
      return "state: " + std::string(to_string(static_cast<session_state>(e.detail)));
    case recorded_kind::connection:
      return "connection: " + std::string(to_string(static_cast<connection_state>(e.detail)));
    case recorded_kind::bind_sent:
      return "BIND sent as session " + value;
    case recorded_kind::ident_received:
      return "IDENT received: file ident " + value;
    case recorded_kind::upload_sent:
      return with_count("UPLOAD sent up to client version " + value, e.count, "changesets");
    case recorded_kind::acknowledged:
      return "acknowledged up to client version " + value;
    case recorded_kind::download:
      return with_count("DOWNLOAD integrated up to server version " + value, e.count, "changesets");
    case recorded_kind::mark_sent:
      return "MARK " + value + " sent";
    case recorded_kind::mark_received:
      return "MARK " + value + " answered";
    case recorded_kind::error: {
      const auto code = static_cast<sync_errc>(e.detail);
      auto text = "error: " + std::string(to_string(code));
      if (is_fatal(code)) return text + " (fatal)";
      return e.value == 0 ? text : text + " (retry in " + value + " ms)";
    }
    case recorded_kind::reset_begun:
      return "client reset begun: " +
             std::string(to_string(static_cast<client_reset_reason>(e.detail)));
    case recorded_kind::reset_finished:
      return "client reset finished: " + value + " changesets recovered";
  }
  return "unknown event";
}

}  // namespace actorsync::runtime
