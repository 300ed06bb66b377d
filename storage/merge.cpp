#include "storage/merge.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <variant>

#include "protocol/codec.hpp"

namespace actorsync::storage::merge {

void apply_create(object_state& object, const stamp& at) {
  object.created = std::max(object.created, at);
}

void apply_erase(object_state& object, const stamp& at) {
  object.erased = std::max(object.erased, at);
}

void apply_set(field_state& field, const stamp& at, protocol::value new_value) {
  if (field.has_set && at <= field.set_at)
    return;  // an older set loses, a re-applied one is a no-op
  field.has_set = true;
  field.set_at = at;
  field.set_value = std::move(new_value);
  // Adds older than the newest set can never count again.
  std::erase_if(field.adds, [&](const pending_add& add) { return add.at < at; });
}

void apply_add(field_state& field, const stamp& at, std::int64_t delta) {
  if (field.has_set && at < field.set_at) return;  // overwritten by a newer set
  auto pos = std::lower_bound(field.adds.begin(), field.adds.end(), at,
                              [](const pending_add& add, const stamp& s) { return add.at < s; });
  if (pos != field.adds.end() && pos->at == at) return;  // the same add twice: keep one
  field.adds.insert(pos, pending_add{at, delta});
}

std::optional<protocol::value> visible_value(const field_state& field, const object_state& object) {
  if (!object.visible()) return std::nullopt;
  const bool set_visible = field.has_set && object.erased < field.set_at;
  bool any_add = false;
  // Wrapping arithmetic: addition modulo 2^64 commutes and never overflows (no UB).
  std::uint64_t sum = 0;
  for (const auto& add : field.adds) {
    if (add.at <= object.erased) continue;
    any_add = true;
    sum += static_cast<std::uint64_t>(add.delta);
  }
  if (!any_add) {
    if (!set_visible) return std::nullopt;
    return field.set_value;
  }
  std::uint64_t base = 0;
  if (set_visible) {
    if (const auto* integer = std::get_if<std::int64_t>(&field.set_value)) {
      base = static_cast<std::uint64_t>(*integer);
    }
  }
  // Built in place: moving a temporary variant trips GCC 12's -Wmaybe-uninitialized under ASan.
  return std::optional<protocol::value>(std::in_place, std::in_place_type<std::int64_t>,
                                        static_cast<std::int64_t>(base + sum));
}

stamp stamp_of(const protocol::changeset& changeset, protocol::file_ident origin,
               std::uint32_t index) {
  return stamp{changeset.origin_timestamp, origin, changeset.client_version, index};
}

void apply_changeset(const protocol::changeset& changeset, protocol::file_ident origin,
                     state_access& states) {
  std::uint32_t index = 0;
  for (const auto& instruction : changeset.instructions) {
    const stamp at = stamp_of(changeset, origin, index++);
    std::visit(
        [&](const auto& in) {
          using T = std::decay_t<decltype(in)>;
          if constexpr (std::is_same_v<T, protocol::create_object>) {
            apply_create(states.object(in.collection, in.object_id), at);
          } else if constexpr (std::is_same_v<T, protocol::erase_object>) {
            apply_erase(states.object(in.collection, in.object_id), at);
          } else if constexpr (std::is_same_v<T, protocol::set_field>) {
            apply_set(states.field(in.collection, in.object_id, in.field), at, in.new_value);
          } else {
            apply_add(states.field(in.collection, in.object_id, in.field), at, in.delta);
          }
        },
        instruction);
  }
}

std::string validate(const protocol::changeset& changeset) {
  if (auto why = protocol::validate(changeset); !why.empty()) return why;
  if (changeset.instructions.size() > std::numeric_limits<std::uint32_t>::max()) {
    return "changeset has more instructions than stamps can number";
  }
  return {};
}

}  // namespace actorsync::storage::merge
