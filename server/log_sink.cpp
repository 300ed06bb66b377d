#include "server/log_sink.hpp"

#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace actorsync::server {

namespace {

std::atomic<std::uint64_t> dropped_everywhere{0};

// Zero timeout: a descriptor that cannot take a line now loses it.
bool writable_now(int fd) {
  pollfd entry{fd, POLLOUT, 0};
  return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLOUT) != 0;
}

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v";
constexpr const char* json_pattern =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%*"})";

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

/// %* in the JSON pattern: the message as the inside of a JSON string (quotes, backslashes and
/// control characters escaped), so that any message keeps each line one valid JSON object.
class json_escaped_message final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (const char c : msg.payload) {
      switch (c) {
        case '"':
          append(dest, std::string_view("\\\""));
          break;
        case '\\':
          append(dest, std::string_view("\\\\"));
          break;
        case '\n':
          append(dest, std::string_view("\\n"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
            append(dest, std::string_view(escaped));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_escaped_message>();
  }
};

}  // namespace

std::optional<log_format> parse_log_format(std::string_view name) {
  if (name == "text") return log_format::text;
  if (name == "json") return log_format::json;
  return std::nullopt;
}

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

void install_stderr_logger(log_format format) {
  auto sink = std::make_shared<dropping_fd_sink>(STDERR_FILENO);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == log_format::json) {
    formatter->add_flag<json_escaped_message>('*').set_pattern(json_pattern);
  } else {
    formatter->set_pattern(text_pattern);
  }
  sink->set_formatter(std::move(formatter));
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("actorsync", std::move(sink)));
}

std::uint64_t log_lines_dropped() {
  return dropped_everywhere.load(std::memory_order_relaxed);
}

}  // namespace actorsync::server
