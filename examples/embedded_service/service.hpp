// A small service embedding the client runtime: it opens `realm_count` realms, writes to each,
// and lets its own actor drive every session (subscribe to progress, wait for upload, then for
// download) with typed requests. Returns a summary; `ok` when every wait succeeded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace embedded_service {

struct options {
  std::string server_url;
  std::string user_id;
  std::string token;
  std::filesystem::path data_directory;
  int realm_count = 10;
  int writes_per_realm = 5;
};

struct summary {
  int sessions = 0;
  int uploads_ok = 0;
  int downloads_ok = 0;
  std::uint64_t progress_reports = 0;
  std::uint64_t sockets_open = 0;
  bool ok() const { return uploads_ok == sessions && downloads_ok == sessions; }
};

summary run(const options& opts);

}  // namespace embedded_service
