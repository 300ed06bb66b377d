#include "api/wait_tickets.hpp"

#include <caf/all.hpp>

#include <vector>

namespace actorsync::api {

void wait_tickets::issue(caf::event_based_actor* bridge, const caf::actor& session, bool upload,
                         std::chrono::milliseconds timeout, protocol::version_type target,
                         callback done, runtime::wait_outcome gone) {
  if (!session) {
    done(gone);
    return;
  }
  const auto ticket = next_ticket_++;
  const auto address = session.address();
  // Monitor before sending: a session already gone still yields a down message.
  if (watched_[address]++ == 0) bridge->monitor(session);
  pending_.emplace(ticket, pending{address, std::move(done), gone});
  bridge->send(session, runtime::ticketed_wait{upload, timeout, target,
                                               caf::actor_cast<caf::actor>(bridge), ticket});
}

void wait_tickets::complete(caf::event_based_actor* bridge, const runtime::wait_done& done) {
  auto it = pending_.find(done.ticket);
  if (it == pending_.end()) return;
  auto entry = std::move(it->second);
  pending_.erase(it);
  forget(bridge, entry.session);
  entry.done(done.outcome);
}

void wait_tickets::forget(caf::event_based_actor* bridge, const caf::actor_addr& session) {
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
  for (auto& entry : failed) entry.done(entry.gone);
}

}  // namespace actorsync::api
