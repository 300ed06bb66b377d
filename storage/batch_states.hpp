// Internal: merge states read from RocksDB and changed in memory until they are put into one
// write batch. The realm store applies local commits and downloads through it.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <actorsync/storage/errors.hpp>
#include "storage/merge.hpp"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace actorsync::storage {

class batch_states final : public merge::state_access {
 public:
  /// `realm_prefix` as client_layout::realm_prefix gives it.
  batch_states(rocksdb::DB& db, std::string realm_prefix);

  merge::object_state& object(const std::string& collection, const std::string& object_id) override;
  merge::field_state& field(const std::string& collection, const std::string& object_id,
                            const std::string& field) override;

  /// The first read or decode failure, if any; the batch must then not be written.
  const std::optional<storage_error>& failure() const { return failure_; }
  /// Puts every touched record into `batch`.
  void write_to(rocksdb::WriteBatch& batch) const;

 private:
  std::optional<std::string> load(const std::string& key);

  rocksdb::DB& db_;
  std::string realm_prefix_;
  std::map<std::string, merge::object_state> objects_;
  std::map<std::string, merge::field_state> fields_;
  std::optional<storage_error> failure_;
};

}  // namespace actorsync::storage
