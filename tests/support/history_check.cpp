#include "tests/support/history_check.hpp"

#include <map>

#include "storage/history_store.hpp"

namespace actorsync::testing {
namespace {

// Every changeset of `realm`, by origin: how often each client version occurs.
using occurrences = std::map<protocol::file_ident, std::map<protocol::version_type, int>>;

occurrences read_all(const storage::history_store& store, const std::string& realm,
                     std::vector<std::string>& problems) {
  occurrences seen;
  protocol::version_type cursor = 0;
  const auto latest = store.latest_server_version(realm);
  while (cursor < latest) {
    auto range = store.read(realm, cursor, 1 << 20);
    if (!range.ok() || range->server_version <= cursor) {
      problems.push_back(realm + ": history read stopped at " + std::to_string(cursor));
      break;
    }
    for (const auto& c : range->changesets) ++seen[c.origin_file_ident][c.client_version];
    cursor = range->server_version;
  }
  return seen;
}

}  // namespace

std::vector<std::string> check_history_exactly_once(const std::filesystem::path& server_data,
                                                    const std::vector<replica_record>& replicas) {
  std::vector<std::string> problems;
  auto opened = storage::history_store::open(server_data, {.durable = false});
  if (!opened.ok()) return {"cannot open the server history: " + opened.error().message};
  const auto& store = *opened.value();
  std::map<std::string, occurrences> by_realm;
  for (const auto& r : replicas) {
    if (!by_realm.contains(r.realm)) by_realm[r.realm] = read_all(store, r.realm, problems);
    auto& versions = by_realm[r.realm][r.ident];
    const auto where = r.realm + " ident " + std::to_string(r.ident) + ": ";
    for (protocol::version_type v = 1; v <= r.committed; ++v) {
      const auto count = versions.contains(v) ? versions[v] : 0;
      if (count != 1) {
        problems.push_back(where + "client version " + std::to_string(v) + " stored " +
                           std::to_string(count) + " times");
      }
    }
    for (const auto& [v, count] : versions) {
      if (v > r.committed)
        problems.push_back(where + "unexpected client version " + std::to_string(v));
    }
    const auto last = store.last_integrated_client_version(r.realm, r.ident);
    if (last != r.committed) {
      problems.push_back(where + "last integrated " + std::to_string(last) + ", committed " +
                         std::to_string(r.committed));
    }
  }
  return problems;
}

}  // namespace actorsync::testing
