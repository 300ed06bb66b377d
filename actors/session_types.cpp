#include "actors/session_types.hpp"

namespace actorsync::runtime {

std::string_view to_string(connection_state state) {
  switch (state) {
    case connection_state::disconnected:
      return "disconnected";
    case connection_state::connecting:
      return "connecting";
    case connection_state::connected:
      return "connected";
  }
  return "unknown";
}

std::string_view to_string(session_state state) {
  switch (state) {
    case session_state::active:
      return "active";
    case session_state::paused:
      return "paused";
    case session_state::inactive:
      return "inactive";
  }
  return "unknown";
}

}  // namespace actorsync::runtime
