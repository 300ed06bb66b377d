// Reads server options from a TOML file (config/server.toml documents every key). Unknown keys,
// wrong types and out-of-range values are refused with "section.key: why".
#pragma once

#include <filesystem>
#include <string>

#include <actorsync/server/server_options.hpp>

namespace actorsync::server {

struct file_config {
  server_options options;
  std::string secret_file;          ///< auth.secret_file; empty: use ACTORSYNC_TOKEN_SECRET
  std::string log_format = "text";  ///< log.format: "text" or "json" (the binary's stderr)
};

/// Throws std::runtime_error("<file>: <key>: <why>") on any problem.
file_config load_config_file(const std::filesystem::path& file, file_config base = {});

/// Fills options.token_secret from `secret_file`, or from ACTORSYNC_TOKEN_SECRET when the file
/// is empty. Throws std::runtime_error naming the source on failure. Never logs the secret.
void resolve_token_secret(server_options& options, const std::string& secret_file);

}  // namespace actorsync::server
