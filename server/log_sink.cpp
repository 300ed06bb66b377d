#include "server/log_sink.hpp"

#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace actorsync::server {

namespace {

std::atomic<std::uint64_t> dropped_everywhere{0};

// Zero timeout: a descriptor that cannot take a line now loses it.
bool writable_now(int fd) {
  pollfd entry{fd, POLLOUT, 0};
  return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLOUT) != 0;
}

}  // namespace

void dropping_fd_sink::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t line;
  formatter_->format(message, line);
  // A pipe with room takes a write of up to PIPE_BUF bytes whole and at once.
  if (line.size() > PIPE_BUF) {
    line.resize(PIPE_BUF);
    line[PIPE_BUF - 1] = '\n';
  }
  if (writable_now(fd_) &&
      ::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
    return;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  dropped_everywhere.fetch_add(1, std::memory_order_relaxed);
}

void install_stderr_logger() {
  auto sink = std::make_shared<dropping_fd_sink>(STDERR_FILENO);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("actorsync", std::move(sink)));
}

std::uint64_t log_lines_dropped() {
  return dropped_everywhere.load(std::memory_order_relaxed);
}

}  // namespace actorsync::server
