// The runtime's logger: a named spdlog logger ("actorsync") per app, never spdlog's default
// logger, so the runtime never writes into the host program's stdout. Without a handler it writes
// to stderr with ISO 8601 timestamps carrying the UTC offset; with one, every line at or above
// the level goes to the application's own logging instead.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include <spdlog/fwd.h>

#include <actorsync/actors/session_types.hpp>

namespace actorsync::runtime {

using log_handler = std::function<void(log_level level, std::string_view message)>;
using logger_ptr = std::shared_ptr<spdlog::logger>;

/// The logger of one app: `handler` receives each line (empty: stderr); `level` filters.
logger_ptr make_runtime_logger(log_handler handler, log_level level);

/// `log` or, when it is null (actors spawned without an app, as in tests), a process-wide
/// "actorsync" logger on stderr.
spdlog::logger& logger_or_default(const logger_ptr& log);

}  // namespace actorsync::runtime
