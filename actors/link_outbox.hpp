// A connection's outbox: one queue per session, served round-robin so a busy realm cannot starve
// the others, plus a priority lane for connection-level frames (PING). Pure logic, no I/O; the
// connection manager keeps one write in flight per socket and pops the next frame when it is
// written. Bounded by construction: each session keeps at most one upload frame queued (it
// builds the next UPLOAD when told the previous one was written) and a few small control frames.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace actorsync::runtime {

template <class Frame>
class link_outbox {
 public:
  using owner_key = std::uint64_t;

  void push(owner_key owner, Frame frame, std::size_t bytes) {
    auto& q = queues_[owner];
    if (q.frames.empty()) ring_.push_back(owner);
    q.frames.emplace_back(std::move(frame), bytes);
    bytes_ += bytes;
  }

  void push_priority(Frame frame, std::size_t bytes) {
    priority_.emplace_back(std::move(frame), bytes);
    bytes_ += bytes;
  }

  /// The next frame: priority lane first, then one frame per session in turn.
  std::optional<Frame> pop() {
    if (!priority_.empty()) return take(priority_);
    if (ring_.empty()) return std::nullopt;
    auto owner = ring_.front();
    ring_.pop_front();
    auto i = queues_.find(owner);
    auto& q = i->second;
    auto e = std::move(q.frames[q.head++]);
    bytes_ -= e.second;
    if (q.head == q.frames.size()) {
      queues_.erase(i);
    } else {
      ring_.push_back(owner);
    }
    return std::move(e.first);
  }

  std::size_t bytes() const { return bytes_; }
  bool empty() const { return priority_.empty() && ring_.empty(); }
  std::size_t owners() const { return ring_.size(); }

  void clear() {
    queues_.clear();
    ring_.clear();
    priority_.clear();
    bytes_ = 0;
  }

 private:
  using entry = std::pair<Frame, std::size_t>;
  /// One session's frames, oldest at `head`. A vector, not a deque: a session queues one to
  /// three frames at a time, and an empty std::deque allocates ~600 bytes up front, which at
  /// 100,000 sessions binding at once is 60 MB of peak memory.
  struct queue {
    std::vector<entry> frames;
    std::size_t head = 0;
  };
  Frame take(std::deque<entry>& q) {
    auto e = std::move(q.front());
    q.pop_front();
    bytes_ -= e.second;
    return std::move(e.first);
  }
  std::unordered_map<owner_key, queue> queues_;
  std::list<owner_key> ring_;  ///< owners with frames, in serving order
  std::deque<entry> priority_;
  std::size_t bytes_ = 0;
};

}  // namespace actorsync::runtime
