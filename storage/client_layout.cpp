#include "storage/client_layout.hpp"

#include "storage/record_codec.hpp"

namespace actorsync::storage::client_layout {

namespace {
constexpr std::uint8_t meta_format = 1;
/// Bits of the optional flags varint that follows the counters.
constexpr std::uint64_t meta_flag_sync_paused = 1;
}  // namespace

std::string catalog_key(std::string_view realm_path) {
  std::string key(1, catalog_tag);
  key.append(realm_path);
  return key;
}

std::string next_realm_key() {
  return std::string(1, next_realm_tag);
}

std::string realm_prefix(std::uint32_t realm_id) {
  std::string key(1, realm_tag);
  codec::put_fixed32_be(key, realm_id);
  return key;
}

std::string meta_key(const std::string& realm_prefix) {
  return realm_prefix + meta_tag;
}

std::string history_prefix(const std::string& realm_prefix) {
  return realm_prefix + history_tag;
}

std::string history_key(const std::string& realm_prefix, version_type client_version) {
  std::string key = history_prefix(realm_prefix);
  codec::put_fixed64_be(key, client_version);
  return key;
}

std::string content_prefix(const std::string& realm_prefix) {
  return realm_prefix + content_tag;
}

std::string collection_prefix(const std::string& realm_prefix, std::string_view collection) {
  std::string key = content_prefix(realm_prefix);
  codec::put_escaped(key, collection);
  return key;
}

std::string object_key(const std::string& realm_prefix, std::string_view collection,
                       std::string_view object_id) {
  std::string key = collection_prefix(realm_prefix, collection);
  codec::put_escaped(key, object_id);
  return key;
}

std::string field_key(const std::string& realm_prefix, std::string_view collection,
                      std::string_view object_id, std::string_view field) {
  std::string key = object_key(realm_prefix, collection, object_id);
  codec::put_escaped(key, field);
  return key;
}

std::string origin_key(const std::string& realm_prefix, file_ident origin) {
  std::string key = realm_prefix + origin_tag;
  codec::put_fixed64_be(key, origin);
  return key;
}

std::string reset_key(const std::string& realm_prefix) {
  return realm_prefix + reset_tag;
}

std::optional<content_key> parse_content_key(std::string_view rest) {
  content_key out;
  auto collection = codec::get_escaped(rest);
  if (!collection) return std::nullopt;
  auto object_id = codec::get_escaped(rest);
  if (!object_id) return std::nullopt;
  out.collection = std::move(*collection);
  out.object_id = std::move(*object_id);
  if (!rest.empty()) {
    out.field = codec::get_escaped(rest);
    if (!out.field || !rest.empty()) return std::nullopt;
  }
  return out;
}

std::string encode_meta(const realm_meta& meta) {
  std::string out(1, static_cast<char>(meta_format));
  const auto& s = meta.sync;
  for (std::uint64_t v :
       {s.client_file_ident, s.file_ident_salt, s.latest_client_version,
        s.acknowledged_client_version, s.last_integrated_server_version, s.download_server_version,
        s.download_last_integrated_client_version, s.uploadable_bytes, s.uploaded_bytes,
        s.downloaded_bytes, s.downloadable_bytes, meta.last_local_timestamp,
        meta.last_remote_timestamp}) {
    codec::put_varint(out, v);
  }
  // Flags came later: a record without them reads as "none set".
  if (s.sync_paused) codec::put_varint(out, meta_flag_sync_paused);
  return out;
}

std::optional<realm_meta> decode_meta(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != meta_format) return std::nullopt;
  codec::reader in(bytes.substr(1));
  realm_meta meta;
  auto& s = meta.sync;
  for (std::uint64_t* v :
       {&s.client_file_ident, &s.file_ident_salt, &s.latest_client_version,
        &s.acknowledged_client_version, &s.last_integrated_server_version,
        &s.download_server_version, &s.download_last_integrated_client_version, &s.uploadable_bytes,
        &s.uploaded_bytes, &s.downloaded_bytes, &s.downloadable_bytes, &meta.last_local_timestamp,
        &meta.last_remote_timestamp}) {
    if (!in.get_varint(*v)) return std::nullopt;
  }
  if (!in.at_end()) {
    std::uint64_t flags = 0;
    if (!in.get_varint(flags) || (flags & ~meta_flag_sync_paused) != 0) return std::nullopt;
    s.sync_paused = (flags & meta_flag_sync_paused) != 0;
  }
  if (!in.at_end()) return std::nullopt;
  return meta;
}

std::string encode_history_value(std::uint64_t cumulative_bytes, const std::string& changeset) {
  std::string out;
  out.reserve(8 + changeset.size());
  codec::put_fixed64_be(out, cumulative_bytes);
  out.append(changeset);
  return out;
}

std::optional<history_value> decode_history_value(std::string_view bytes) {
  if (bytes.size() < 8) return std::nullopt;
  return history_value{codec::get_fixed64_be(bytes), bytes.substr(8)};
}

}  // namespace actorsync::storage::client_layout
