#include "actors/runtime_log.hpp"

#include <mutex>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace actorsync::runtime {

namespace {

constexpr const char* logger_name = "actorsync";
/// ISO 8601 with milliseconds and the UTC offset, e.g. 2026-12-07T16:46:09.392+00:00.
constexpr const char* stderr_pattern = "%Y-%m-%dT%H:%M:%S.%e%z [%l] %n: %v";

log_level from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return log_level::trace;
    case spdlog::level::debug:
      return log_level::debug;
    case spdlog::level::info:
      return log_level::info;
    case spdlog::level::warn:
      return log_level::warn;
    case spdlog::level::err:
    case spdlog::level::critical:
      return log_level::error;
    default:
      return log_level::off;
  }
}

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
    case log_level::off:
      break;
  }
  return spdlog::level::off;
}

/// Hands each formatted message (without timestamp or level: the application adds its own) to
/// the application's handler.
class handler_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit handler_sink(log_handler handler) : handler_(std::move(handler)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    handler_(from_spdlog(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  log_handler handler_;
};

logger_ptr make_stderr_logger() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::logger>(logger_name, std::move(sink));
  log->set_formatter(std::make_unique<spdlog::pattern_formatter>(stderr_pattern));
  return log;
}

}  // namespace

logger_ptr make_runtime_logger(log_handler handler, log_level level) {
  auto log = handler ? std::make_shared<spdlog::logger>(
                           logger_name, std::make_shared<handler_sink>(std::move(handler)))
                     : make_stderr_logger();
  log->set_level(to_spdlog(level));
  return log;
}

spdlog::logger& logger_or_default(const logger_ptr& log) {
  if (log) return *log;
  static const logger_ptr fallback = make_runtime_logger({}, log_level::info);
  return *fallback;
}

}  // namespace actorsync::runtime
