// Internal. The server-wide budget for the bytes clients make the server hold: frames queued for
// a connection, a frame partly received, and the bookkeeping of its bound sessions. Each
// connection has one account; when the accounts together pass the limit, the largest one not
// yet shed is shed (its connection ends with the retryable ERROR server_overloaded), one at a
// time, until the rest fit. Thread-safe: a connection charges from its actor and from its
// socket's strand. No CAF, no sockets: the shed action is a callback.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace actorsync::server {

class memory_budget : public std::enable_shared_from_this<memory_budget> {
 public:
  class account;
  /// Called once, on the thread whose charge passed the limit; must only post work.
  using shed_action = std::function<void()>;

  explicit memory_budget(std::size_t limit_bytes) : limit_(limit_bytes) {}

  /// A new, empty account; it releases what it holds when destroyed.
  std::shared_ptr<account> open_account(shed_action shed);

  std::size_t limit() const { return limit_; }
  /// Bytes held by all accounts, including shed ones not yet released.
  std::size_t used() const { return static_cast<std::size_t>(used_.load()); }
  /// Bytes held by accounts not shed: what the limit is compared with.
  std::size_t live() const { return static_cast<std::size_t>(live_.load()); }
  std::uint64_t shed_count() const { return shed_count_.load(); }

 private:
  friend class account;
  void shed_while_over();

  const std::size_t limit_;
  std::atomic<std::int64_t> used_{0};
  std::atomic<std::int64_t> live_{0};
  std::atomic<std::uint64_t> shed_count_{0};
  std::mutex accounts_mutex_;
  std::unordered_set<account*> accounts_;
};

class memory_budget::account {
 public:
  account(std::shared_ptr<memory_budget> budget, shed_action shed)
      : budget_(std::move(budget)), shed_(std::move(shed)) {}
  ~account();
  account(const account&) = delete;
  account& operator=(const account&) = delete;

  /// Adds `bytes`; sheds accounts (maybe this one) while the live total is over the limit.
  void charge(std::size_t bytes);
  void release(std::size_t bytes);
  std::size_t bytes() const { return static_cast<std::size_t>(bytes_.load()); }
  bool shed() const { return shed_flag_.load(); }

 private:
  friend class memory_budget;
  /// Marks this account shed (its bytes leave the live total); returns its action, or an empty
  /// one when it was shed already.
  shed_action mark_shed();

  std::shared_ptr<memory_budget> budget_;
  shed_action shed_;
  std::mutex mutex_;  ///< orders bytes_ and shed_flag_ with the live total
  std::atomic<std::int64_t> bytes_{0};
  std::atomic<bool> shed_flag_{false};
};

/// The default budget for this machine: a quarter of its memory, or of the cgroup's limit when
/// that is lower (a container).
std::size_t default_memory_budget_bytes();

}  // namespace actorsync::server
