#include "server/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace actorsync::server {

std::shared_ptr<memory_budget::account> memory_budget::open_account(shed_action shed) {
  auto created = std::make_shared<account>(shared_from_this(), std::move(shed));
  std::lock_guard lock(accounts_mutex_);
  accounts_.insert(created.get());
  return created;
}

void memory_budget::shed_while_over() {
  // Actions run after the lock is released: they post work and may take other locks.
  std::vector<shed_action> actions;
  {
    std::lock_guard lock(accounts_mutex_);
    while (live_.load() > static_cast<std::int64_t>(limit_)) {
      account* largest = nullptr;
      for (auto* candidate : accounts_) {
        if (candidate->shed()) continue;
        if (largest == nullptr || candidate->bytes() > largest->bytes()) largest = candidate;
      }
      if (largest == nullptr) break;
      if (auto action = largest->mark_shed()) {
        shed_count_.fetch_add(1);
        actions.push_back(std::move(action));
      }
    }
  }
  for (auto& action : actions) action();
}

memory_budget::account::~account() {
  {
    std::lock_guard lock(budget_->accounts_mutex_);
    budget_->accounts_.erase(this);
  }
  std::lock_guard lock(mutex_);
  const auto held = bytes_.load();
  budget_->used_.fetch_sub(held);
  if (!shed_flag_.load()) budget_->live_.fetch_sub(held);
}

void memory_budget::account::charge(std::size_t bytes) {
  const auto delta = static_cast<std::int64_t>(bytes);
  bool over = false;
  {
    std::lock_guard lock(mutex_);
    bytes_.fetch_add(delta);
    budget_->used_.fetch_add(delta);
    if (!shed_flag_.load())
      over = budget_->live_.fetch_add(delta) + delta > static_cast<std::int64_t>(budget_->limit_);
  }
  if (over) budget_->shed_while_over();
}

void memory_budget::account::release(std::size_t bytes) {
  const auto delta = static_cast<std::int64_t>(bytes);
  std::lock_guard lock(mutex_);
  bytes_.fetch_sub(delta);
  budget_->used_.fetch_sub(delta);
  if (!shed_flag_.load()) budget_->live_.fetch_sub(delta);
}

memory_budget::shed_action memory_budget::account::mark_shed() {
  std::lock_guard lock(mutex_);
  if (shed_flag_.exchange(true)) return {};
  budget_->live_.fetch_sub(bytes_.load());
  return std::move(shed_);
}

namespace {

// memory.max of the process's cgroup (v2), when it has a limit.
std::size_t cgroup_limit_bytes() {
  std::ifstream cgroup("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(cgroup, line)) {
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  }
  if (path.empty()) return 0;
  std::ifstream max("/sys/fs/cgroup" + path + "/memory.max");
  std::string value;
  if (!(max >> value) || value == "max") return 0;
  try {
    return static_cast<std::size_t>(std::stoull(value));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::size_t default_memory_budget_bytes() {
  const auto pages = sysconf(_SC_PHYS_PAGES);
  const auto page_size = sysconf(_SC_PAGE_SIZE);
  std::size_t memory = pages > 0 && page_size > 0
                           ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size)
                           : 0;
  if (const auto cgroup = cgroup_limit_bytes(); cgroup > 0)
    memory = memory == 0 ? cgroup : std::min(memory, cgroup);
  constexpr std::size_t fallback = std::size_t{1} << 30;  // unknown machine: 1 GiB
  return memory == 0 ? fallback : memory / 4;
}

}  // namespace actorsync::server
