// The command lines of actorsync-server, actorsync-token and actorsync-load (CLI11): --version on
// each, and one documented exit status per outcome (docs/server.md, "Exit statuses"), never
// CLI11's own codes (105-115), which no script could know.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "actorsync/build_info.hpp"

namespace actorsync::command_line {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;       ///< could not start, or the run failed
inline constexpr int exit_usage_error = 2;  ///< a bad flag, option value or configuration
/// actorsync-server: the data directory's disk is below its free-space reserve (free space and
/// start again; a supervisor may retry: the server starts once space returns).
inline constexpr int exit_disk_full = 3;
/// actorsync-server: the data directory is damaged (start, or --verify found damage); a person
/// must act (restore a backup): a supervisor must not restart it.
inline constexpr int exit_data_damaged = 4;

/// Adds --version ("<program> <version>") to `app`.
inline void add_version(CLI::App& app, const std::string& program) {
  app.set_version_flag("--version", program + " " + std::string(build_info::version));
}

/// Parses the command line. Empty: go on. Otherwise the program exits with the value: exit_ok
/// after --help or --version (printed), exit_usage_error after a flag error (printed, with the
/// offending flag, on stderr).
inline std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage_error;
  }
  return std::nullopt;
}

}  // namespace actorsync::command_line
