#include "api/wait_tickets.hpp"

#include <caf/all.hpp>

#include <vector>

namespace actorsync::api {

void wait_tickets::issue(runtime::bridge_actor::pointer bridge,
                         const runtime::issue_wait& request) {
  const auto& session = request.session;
  if (!session) {
    request.completion->done(request.completion->gone);
    return;
  }
  const auto ticket = next_ticket_++;
  const auto address = session.address();
  // Monitor before sending: a session already gone still yields a down message.
  if (watched_[address]++ == 0) bridge->monitor(session);
  pending_.emplace(ticket, pending{address, request.completion});
  caf::anon_send(session, runtime::ticketed_wait{request.upload, request.timeout, request.target,
                                                 caf::actor_cast<caf::actor>(bridge), ticket});
}

void wait_tickets::complete(runtime::bridge_actor::pointer bridge, const runtime::wait_done& done) {
  auto it = pending_.find(done.ticket);
  if (it == pending_.end()) return;
  auto entry = std::move(it->second);
  pending_.erase(it);
  forget(bridge, entry.session);
  entry.completion->done(done.outcome);
}

void wait_tickets::forget(runtime::bridge_actor::pointer bridge, const caf::actor_addr& session) {
  auto it = watched_.find(session);
  if (it == watched_.end() || --it->second > 0) return;
  watched_.erase(it);
  bridge->demonitor(session);
}

void wait_tickets::session_down(const caf::actor_addr& session) {
  // Rare (a session ended with waits in flight), so a scan is fine.
  std::vector<pending> failed;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.session == session) {
      failed.push_back(std::move(it->second));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  watched_.erase(session);
  for (auto& entry : failed) entry.completion->done(entry.completion->gone);
}

}  // namespace actorsync::api
