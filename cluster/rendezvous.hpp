// Rendezvous (highest random weight) hashing: which live node should own a realm. Pure: every
// node computes the same answer from the same list, and a node joining or leaving moves only
// the realms it wins or held.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actorsync::cluster {

/// The weight of `node` for `realm`: a stable 64-bit hash of both (the same on every machine
/// and in every build, unlike std::hash).
std::uint64_t rendezvous_weight(std::string_view realm, std::string_view node);

/// The node with the highest weight for `realm` (ties: the smaller name); empty when `nodes` is.
std::string preferred_owner(std::string_view realm, const std::vector<std::string>& nodes);

}  // namespace actorsync::cluster
