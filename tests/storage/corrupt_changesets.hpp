// Changesets that every store must refuse as bad_changeset, one per broken rule.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <actorsync/protocol/limits.hpp>
#include <actorsync/protocol/messages.hpp>

namespace actorsync::testing {

inline protocol::changeset changeset_of(protocol::version_type version,
                                        std::vector<protocol::instruction> instructions) {
  protocol::changeset cs;
  cs.client_version = version;
  cs.origin_timestamp = 1000;
  cs.instructions = std::move(instructions);
  return cs;
}

/// (what is wrong, changeset); origins are left for the caller to set.
inline std::vector<std::pair<std::string, protocol::changeset>> corrupt_changesets(
    protocol::version_type version) {
  using namespace protocol;
  const std::string long_name(limits::max_name_bytes + 1, 'n');
  return {
      {"client version 0", changeset_of(0, {create_object{"c", "x"}})},
      {"empty collection", changeset_of(version, {create_object{"", "x"}})},
      {"empty object id", changeset_of(version, {erase_object{"c", ""}})},
      {"empty field", changeset_of(version, {set_field{"c", "x", "", true}})},
      {"collection too long", changeset_of(version, {add_integer{long_name, "x", "f", 1}})},
      {"object id too long", changeset_of(version, {create_object{"c", long_name}})},
      {"field too long", changeset_of(version, {add_integer{"c", "x", long_name, 1}})},
      {"string too long",
       changeset_of(version,
                    {set_field{"c", "x", "f", std::string(limits::max_value_bytes + 1, 's')}})},
      {"binary too long",
       changeset_of(version, {set_field{"c", "x", "f", binary(limits::max_value_bytes + 1, 1)}})},
      {"one bad instruction among good ones",
       changeset_of(version, {create_object{"c", "y"}, set_field{"c", "y", "f", true},
                              set_field{"c", "", "f", true}})},
  };
}

}  // namespace actorsync::testing
