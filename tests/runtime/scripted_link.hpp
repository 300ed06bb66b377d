// A scripted stand-in for the connection manager, for deterministic session tests on CAF's
// testing scheduler: it records what a session sends (attach, detach, decoded frames) and the
// test plays the server by sending link_events and incoming_messages to the session.
#pragma once

#include <memory>
#include <vector>

#include <caf/all.hpp>

#include <actorsync/actors/session_messages.hpp>
#include "protocol/codec.hpp"

namespace actorsync::testing {

struct link_script {
  int attaches = 0;
  int detaches = 0;
  std::vector<protocol::client_message> frames;
  std::vector<runtime::outgoing_frame> raw;

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (auto& f : frames)
      if (auto* m = std::get_if<T>(&f)) out.push_back(*m);
    return out;
  }
};

inline caf::behavior scripted_link(caf::event_based_actor* self,
                                   std::shared_ptr<link_script> script) {
  self->set_default_handler(caf::drop);
  return {
      [script](runtime::attach_atom, const std::string&, const std::string&, const caf::actor&) {
        ++script->attaches;
      },
      [script](runtime::detach_atom, const caf::actor&) { ++script->detaches; },
      [script](const runtime::outgoing_frame& frame) {
        auto decoded = protocol::decode_client_message(*frame.bytes);
        if (decoded) script->frames.push_back(decoded.message());
        script->raw.push_back(frame);
      },
      [](runtime::reconnect_atom) {},
  };
}

/// Collects what a subscriber actor receives.
struct inbox {
  std::vector<runtime::transfer_progress> progress;
  std::vector<runtime::connection_state_changed> states;
  std::vector<runtime::session_error_event> errors;
};

inline caf::behavior collector(caf::event_based_actor* self, std::shared_ptr<inbox> box) {
  self->set_default_handler(caf::drop);
  return {
      [box](const runtime::transfer_progress& p) { box->progress.push_back(p); },
      [box](const runtime::connection_state_changed& c) { box->states.push_back(c); },
      [box](const runtime::session_error_event& e) { box->errors.push_back(e); },
  };
}

}  // namespace actorsync::testing
