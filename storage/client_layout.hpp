// Internal: the key layout of the client database (storage/README.md has the table) and the
// per-realm metadata record. One RocksDB database holds every realm; a realm's keys share the
// prefix 'R' + its 4-byte realm id, allocated once per path and kept in the catalog.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <actorsync/storage/realm_store.hpp>

namespace actorsync::storage::client_layout {

inline constexpr char catalog_tag = 'C';     ///< 'C' path -> realm id (4 bytes BE)
inline constexpr char next_realm_tag = 'N';  ///< 'N' -> next realm id (4 bytes BE)
inline constexpr char realm_tag = 'R';       ///< 'R' id ... -> everything of one realm
inline constexpr char meta_tag = 'm';        ///< R id 'm' -> realm_meta
inline constexpr char history_tag = 'h';     ///< R id 'h' cv(8 BE) -> cumulative(8 BE) changeset
inline constexpr char content_tag = 'o';     ///< R id 'o' E(coll) E(oid) [E(field)] -> state
inline constexpr char origin_tag = 'i';      ///< R id 'i' origin(8 BE) -> last integrated cv
/// R id 'x' -> staging realm id (4 bytes BE): a client reset begun and not finished
inline constexpr char reset_tag = 'x';

std::string catalog_key(std::string_view realm_path);
std::string next_realm_key();
std::string realm_prefix(std::uint32_t realm_id);
std::string meta_key(const std::string& realm_prefix);
std::string history_prefix(const std::string& realm_prefix);
std::string history_key(const std::string& realm_prefix, version_type client_version);
std::string content_prefix(const std::string& realm_prefix);
std::string collection_prefix(const std::string& realm_prefix, std::string_view collection);
std::string object_key(const std::string& realm_prefix, std::string_view collection,
                       std::string_view object_id);
std::string field_key(const std::string& realm_prefix, std::string_view collection,
                      std::string_view object_id, std::string_view field);
std::string origin_key(const std::string& realm_prefix, file_ident origin);
std::string reset_key(const std::string& realm_prefix);

/// A content key split into its names; `field` is empty for object records.
struct content_key {
  std::string collection;
  std::string object_id;
  std::optional<std::string> field;
};
/// Parses the part of a content key after content_prefix(); nullopt when malformed.
std::optional<content_key> parse_content_key(std::string_view rest);

/// The metadata record: the public sync_metadata plus the realm's clock.
struct realm_meta {
  sync_metadata sync;
  protocol::timestamp_type last_local_timestamp = 0;   ///< newest local changeset's timestamp
  protocol::timestamp_type last_remote_timestamp = 0;  ///< newest integrated remote timestamp
};
std::string encode_meta(const realm_meta& meta);
std::optional<realm_meta> decode_meta(std::string_view bytes);

/// History values: cumulative uploadable bytes up to and including this changeset, then the
/// changeset as protocol::encode_changeset writes it.
std::string encode_history_value(std::uint64_t cumulative_bytes, const std::string& changeset);
struct history_value {
  std::uint64_t cumulative_bytes = 0;
  std::string_view changeset;
};
std::optional<history_value> decode_history_value(std::string_view bytes);

}  // namespace actorsync::storage::client_layout
