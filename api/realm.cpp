#include <actorsync/api/realm.hpp>

#include "api/runtime_bridge.hpp"

namespace actorsync::api {

realm::realm(std::shared_ptr<storage::realm_store> store,
             std::unique_ptr<sync_session::impl> session)
    : store_(std::move(store)), session_(std::move(session)) {}

realm::~realm() {
  close(false);
  // Forget this realm in the app (a reopen has not replaced the entry yet if it is expired).
  auto& owner = *session_.internals().owner;
  std::lock_guard lock(owner.mutex);
  if (auto i = owner.realms.find(path()); i != owner.realms.end() && i->second.expired())
    owner.realms.erase(i);
}

const std::string& realm::path() const {
  return store_->path();
}

storage::write_transaction realm::begin_write() {
  return store_->begin_write();
}

const storage::realm_store& realm::read() const {
  return *store_;
}

sync_session& realm::session() {
  return session_;
}

void realm::close(bool stop_now) {
  if (closed_) return;
  closed_ = true;
  // Fire and forget: without stop_now the session lives on until its last acknowledgement.
  // Through the bridge, so it reaches the session after this realm's earlier pause or resume.
  auto& session = session_.internals();
  send_in_order(session.owner->bridge, session.actor, runtime::close_session{stop_now});
}

}  // namespace actorsync::api
