// Internal. Log output that never blocks a server thread. A parent that reads only the ready
// line, or never reads the server's stderr pipe at all, must cost the server log lines, not its
// threads: a blocked write inside a log call stalls an actor or an Asio thread, and with it
// shutdown. Lines are written only when the descriptor can take them at once; the others are
// dropped and counted (actorsync_log_lines_dropped_total).
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace actorsync::server {

/// An spdlog sink writing each formatted line to `fd` in one write(2) of at most PIPE_BUF bytes
/// (longer lines are cut), after poll(2) says the descriptor is writable; otherwise the line is
/// dropped. Writes to a pipe therefore never block and never interleave with another writer's.
class dropping_fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit dropping_fd_sink(int fd) : fd_(fd) {}
  /// Lines this sink dropped (also counted in log_lines_dropped()).
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override {}

 private:
  int fd_;
  std::atomic<std::uint64_t> dropped_{0};
};

/// How the binary's log lines look: text (ISO 8601 time with UTC offset, level, message) or JSON
/// lines ({"time":...,"level":...,"message":...}, one object per line, for log shippers).
enum class log_format { text, json };
/// "text" or "json"; empty optional otherwise.
std::optional<log_format> parse_log_format(std::string_view name);

/// Makes spdlog's default logger write to stderr through a dropping_fd_sink, in `format`.
void install_stderr_logger(log_format format = log_format::text);

/// Log lines dropped by every dropping_fd_sink of this process.
std::uint64_t log_lines_dropped();

}  // namespace actorsync::server
