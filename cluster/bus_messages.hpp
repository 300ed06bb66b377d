// What the nodes of a cluster say to each other over the bus (nats_bus.hpp): requests to a
// realm's owner, their replies, and change notices. A small length-prefixed binary envelope;
// changesets inside use the protocol's own encoding. Decoding never trusts a length the bytes
// cannot back: a malformed message is refused with a reason, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <actorsync/protocol/messages.hpp>
#include <actorsync/storage/errors.hpp>
#include "storage/history_store.hpp"

namespace actorsync::cluster {

enum class bus_request_kind : std::uint8_t {
  upload = 1,          ///< integrate `changesets` of `client` (to the realm's owner)
  allocate_ident = 2,  ///< grant a new client file ident (to the realm's owner)
  take_realm = 3,      ///< become the realm's owner (to the preferred node)
};

struct bus_request {
  bus_request_kind kind = bus_request_kind::upload;
  std::string realm;
  std::string from_node;
  storage::file_ident_grant client;
  std::vector<protocol::changeset> changesets;
};

struct bus_reply {
  bool ok = true;
  storage::storage_errc error = storage::storage_errc::unavailable;  ///< when !ok
  std::string message;                                               ///< when !ok
  storage::integration_result integration;                           ///< upload
  storage::file_ident_grant grant;                                   ///< allocate_ident
};

/// The owner's history of `realm` reached `version` (committed).
struct change_notice {
  std::string realm;
  protocol::version_type version = 0;
};

std::string encode(const bus_request& request);
std::string encode(const bus_reply& reply);
std::string encode(const change_notice& notice);
storage::result<bus_request> decode_bus_request(std::string_view bytes);
storage::result<bus_reply> decode_bus_reply(std::string_view bytes);
storage::result<change_notice> decode_change_notice(std::string_view bytes);

/// Subjects: requests for one realm's owner, take requests for one node, change notices.
std::string realm_subject(std::string_view realm_path);
std::string node_subject(std::string_view node_id);
std::string change_subject(std::string_view realm_path);
inline constexpr std::string_view all_changes_subject = "actorsync.changed.>";

}  // namespace actorsync::cluster
