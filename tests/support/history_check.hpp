// Checks a server's history database after a fault test: every changeset a client wrote is
// there exactly once. Open only while no server holds the database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <actorsync/protocol/messages.hpp>

namespace actorsync::testing {

/// One client replica of one realm: its server-assigned file ident and how many changesets it
/// committed (client versions 1..committed).
struct replica_record {
  std::string realm;
  protocol::file_ident ident = 0;
  protocol::version_type committed = 0;
};

/// One line per violation (missing, duplicated or unexpected client versions, a wrong
/// last-integrated version); empty when the history holds each committed changeset once.
std::vector<std::string> check_history_exactly_once(const std::filesystem::path& server_data,
                                                    const std::vector<replica_record>& replicas);

}  // namespace actorsync::testing
