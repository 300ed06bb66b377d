#include "storage/batch_states.hpp"

#include "storage/client_layout.hpp"
#include "storage/record_codec.hpp"
#include "storage/rocks_util.hpp"

namespace actorsync::storage {

batch_states::batch_states(rocksdb::DB& db, std::string realm_prefix)
    : db_(db), realm_prefix_(std::move(realm_prefix)) {}

std::optional<std::string> batch_states::load(const std::string& key) {
  std::string bytes;
  auto s = db_.Get(rocksdb::ReadOptions(), key, &bytes);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) {
    if (!failure_) failure_ = rocks::to_error(s, "reading a content record");
    return std::nullopt;
  }
  return bytes;
}

merge::object_state& batch_states::object(const std::string& collection,
                                          const std::string& object_id) {
  auto key = client_layout::object_key(realm_prefix_, collection, object_id);
  auto it = objects_.find(key);
  if (it != objects_.end()) return it->second;
  merge::object_state state;
  if (auto bytes = load(key)) {
    if (auto decoded = codec::decode_object(*bytes)) {
      state = *decoded;
    } else if (!failure_) {
      failure_ = storage_error{storage_errc::corruption, "object record does not decode"};
    }
  }
  return objects_.emplace(std::move(key), state).first->second;
}

merge::field_state& batch_states::field(const std::string& collection, const std::string& object_id,
                                        const std::string& field) {
  auto key = client_layout::field_key(realm_prefix_, collection, object_id, field);
  auto it = fields_.find(key);
  if (it != fields_.end()) return it->second;
  merge::field_state state;
  if (auto bytes = load(key)) {
    if (auto decoded = codec::decode_field(*bytes)) {
      state = std::move(*decoded);
    } else if (!failure_) {
      failure_ = storage_error{storage_errc::corruption, "field record does not decode"};
    }
  }
  return fields_.emplace(std::move(key), std::move(state)).first->second;
}

void batch_states::write_to(rocksdb::WriteBatch& batch) const {
  for (const auto& [key, state] : objects_) batch.Put(key, codec::encode_object(state));
  for (const auto& [key, state] : fields_) batch.Put(key, codec::encode_field(state));
}

}  // namespace actorsync::storage
