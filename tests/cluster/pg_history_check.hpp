// Test support: reads a realm history back from PostgreSQL and checks that every changeset a
// replica committed is stored exactly once (the cluster's counterpart of history_check.hpp).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/pg_history_store.hpp"
#include "tests/support/history_check.hpp"

namespace actorsync::testing {

/// One line per changeset a replica committed that PostgreSQL does not hold exactly once.
inline std::vector<std::string> check_exactly_once(const std::string& url,
                                                   const std::vector<replica_record>& records) {
  cluster::pg_options o;
  o.url = url;
  o.node_id = "checker";  // reads need no ownership
  o.take_lease = false;   // never a live node others would choose
  auto opened = cluster::pg_history_store::open(o);
  if (!opened) return {"cannot open the PostgreSQL history: " + opened.error().message};
  auto& store = *opened.value();
  std::vector<std::string> problems;
  for (const auto& r : records) {
    std::map<protocol::version_type, int> seen;
    protocol::version_type cursor = 0;
    while (cursor < store.latest_server_version(r.realm)) {
      auto range = store.read(r.realm, cursor, 1 << 20);
      if (!range || range->server_version <= cursor) {
        problems.push_back(r.realm + ": history read stopped at " + std::to_string(cursor));
        break;
      }
      for (const auto& c : range->changesets) {
        if (c.origin_file_ident == r.ident) ++seen[c.client_version];
      }
      cursor = range->server_version;
    }
    for (protocol::version_type v = 1; v <= r.committed; ++v) {
      if (seen[v] != 1) {
        problems.push_back(r.realm + " client version " + std::to_string(v) + " stored " +
                           std::to_string(seen[v]) + " times");
      }
    }
  }
  return problems;
}

}  // namespace actorsync::testing
