#include "cluster/pg_connection_pool.hpp"

namespace actorsync::cluster {

std::string redacted_url(const std::string& url) {
  // postgresql://user:password@host...: hide what lies between the user's ':' and the '@'.
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;  // a key=value string: printed only by the user
  const auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
  auto connection = std::make_unique<pqxx::connection>(url);
  pqxx::nontransaction setup(*connection);
  setup.exec("SET synchronous_commit TO on");
  setup.exec("SET client_min_messages TO warning");
  // A node stopped mid-transaction (SIGSTOP, a stalled VM) must not hold its row locks, which
  // would block every other node's acquisitions of its realms: PostgreSQL ends such a session
  // (its transaction rolls back; nothing of it was acknowledged). Our transactions run their
  // statements back to back, so a second of idleness inside one is a stall.
  setup.exec("SET idle_in_transaction_session_timeout TO 1000");
  // And a lock wait is bounded: the caller gets an error and retries rather than a wedged
  // thread.
  setup.exec("SET lock_timeout TO 2000");
  setup.commit();
  return connection;
}

pg_connection_pool::pg_connection_pool(std::string url, std::size_t max_idle)
    : url_(std::move(url)), max_idle_(max_idle) {}

pg_connection_pool::borrowed::~borrowed() {
  if (!connection_ || !connection_->is_open()) return;
  std::lock_guard lock(pool_.mutex_);
  if (pool_.idle_.size() < pool_.max_idle_) pool_.idle_.push_back(std::move(connection_));
}

pg_connection_pool::borrowed pg_connection_pool::borrow() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return borrowed(*this, std::move(connection));
    }
  }
  return borrowed(*this, connect(url_));
}

}  // namespace actorsync::cluster
