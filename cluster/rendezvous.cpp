#include "cluster/rendezvous.hpp"

namespace actorsync::cluster {

namespace {

// FNV-1a over the bytes, then the splitmix64 finaliser: FNV alone mixes the last bytes poorly,
// and node names often differ only in their last character.
std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (const unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::uint64_t finalise(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

std::uint64_t rendezvous_weight(std::string_view realm, std::string_view node) {
  std::uint64_t hash = fnv1a(0xcbf29ce484222325ULL, node);
  hash = fnv1a(hash, std::string_view("\0", 1));  // "ab"+"c" and "a"+"bc" must differ
  return finalise(fnv1a(hash, realm));
}

std::string preferred_owner(std::string_view realm, const std::vector<std::string>& nodes) {
  const std::string* best = nullptr;
  std::uint64_t best_weight = 0;
  for (const auto& node : nodes) {
    const auto weight = rendezvous_weight(realm, node);
    if (!best || weight > best_weight || (weight == best_weight && node < *best)) {
      best = &node;
      best_weight = weight;
    }
  }
  return best ? *best : std::string();
}

}  // namespace actorsync::cluster
