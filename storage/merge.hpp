// The merge rules of docs/merge.md, in one place. Pure functions over small state records; the
// client realm store applies them to RocksDB records and the server uses validate() on uploads.
// No I/O, no RocksDB types: everything here is testable on plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <actorsync/protocol/messages.hpp>

namespace actorsync::storage::merge {

/// The total order of instructions: (origin timestamp, origin file ident, client version,
/// instruction index). Every instruction ever committed has a distinct stamp.
struct stamp {
  protocol::timestamp_type timestamp = 0;
  protocol::file_ident origin = 0;
  protocol::version_type client_version = 0;
  std::uint32_t index = 0;
  friend auto operator<=>(const stamp&, const stamp&) = default;
  friend bool operator==(const stamp&, const stamp&) = default;
};

/// Compares below every real stamp (real client versions start at 1).
inline constexpr stamp no_stamp{};

/// What is known about one object: the newest create and the newest erase.
struct object_state {
  stamp created = no_stamp;
  stamp erased = no_stamp;
  /// An object exists iff its newest create is newer than its newest erase.
  bool visible() const { return erased < created; }
  friend bool operator==(const object_state&, const object_state&) = default;
};

struct pending_add {
  stamp at;
  std::int64_t delta = 0;
  friend bool operator==(const pending_add&, const pending_add&) = default;
};

/// What is known about one field: the newest set and the integer adds newer than it.
struct field_state {
  bool has_set = false;
  stamp set_at = no_stamp;
  protocol::value set_value;
  std::vector<pending_add> adds;  ///< stamps > set_at, ascending
  friend bool operator==(const field_state&, const field_state&) = default;
};

void apply_create(object_state& object, const stamp& at);
void apply_erase(object_state& object, const stamp& at);
void apply_set(field_state& field, const stamp& at, protocol::value new_value);
void apply_add(field_state& field, const stamp& at, std::int64_t delta);

/// The value readers see, or nothing when the object is not visible or no write to the field
/// survives the object's newest erase.
std::optional<protocol::value> visible_value(const field_state& field, const object_state& object);

/// Where apply_changeset finds and keeps states; the realm store backs it with a write batch.
class state_access {
 public:
  virtual ~state_access() = default;
  virtual object_state& object(const std::string& collection, const std::string& object_id) = 0;
  virtual field_state& field(const std::string& collection, const std::string& object_id,
                             const std::string& field) = 0;
};

/// The stamp of instruction `index` of `changeset` committed by `origin`.
stamp stamp_of(const protocol::changeset& changeset, protocol::file_ident origin,
               std::uint32_t index);

/// Applies every instruction of a changeset (validated before) with its stamp.
void apply_changeset(const protocol::changeset& changeset, protocol::file_ident origin,
                     state_access& states);

/// Whether a changeset can be merged: protocol field validation plus the stamp space. Returns an
/// empty string when valid, else the reason. Server and client refuse what this refuses.
std::string validate(const protocol::changeset& changeset);

}  // namespace actorsync::storage::merge
