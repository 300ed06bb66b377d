#include "server/pending_upgrades.hpp"

#include <sys/resource.h>

#include <limits>
#include <utility>

namespace actorsync::server {

std::uint64_t pending_upgrades::add(drop_action drop) {
  drop_action oldest;
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock(mutex_);
    if (!pending_.empty() && pending_.size() >= limit_) {
      oldest = std::move(pending_.begin()->second);
      pending_.erase(pending_.begin());
      dropped_.fetch_add(1);
    }
    ticket = next_ticket_++;
    pending_.emplace(ticket, std::move(drop));
  }
  if (oldest) oldest();
  return ticket;
}

void pending_upgrades::remove(std::uint64_t ticket) {
  std::lock_guard lock(mutex_);
  pending_.erase(ticket);
}

std::size_t pending_upgrades::size() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

std::size_t socket_capacity(std::size_t reserve) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<std::size_t>::max();
  const auto descriptors = static_cast<std::size_t>(limit.rlim_cur);
  return descriptors > reserve ? descriptors - reserve : 0;
}

}  // namespace actorsync::server
