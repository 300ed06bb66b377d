// Storage errors: one enum for the client realm store and the server history store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace actorsync::storage {

enum class storage_errc {
  io_error = 1,           ///< RocksDB reported an I/O or internal error; retryable after reopen
  corruption,             ///< a stored record does not decode; fatal for that realm
  bad_changeset,          ///< a changeset or instruction does not validate; nothing was applied
  invalid_argument,       ///< API misuse: empty path, version going backwards, unknown ident
  bad_client_file_ident,  ///< server: the (ident, salt) pair was never allocated for this realm
  bad_progress,           ///< a cursor goes backwards or past what exists
  closed,                 ///< the store is shutting down
  bad_client_version,     ///< server: an upload's client versions do not increase
  realm_lost,             ///< cluster: another node took the realm (fenced); nothing was kept
  realm_owned_elsewhere,  ///< cluster: a live node owns the realm; retry there or later
  unavailable,   ///< cluster: the database failed or is unreachable; nothing was kept; retry
  storage_full,  ///< the disk is below the store's free-space reserve; nothing was written;
                 ///< retryable once space returns (storage/disk_space.hpp)
};
/// The free-space reserve both stores keep by default (storage_full below it): a memtable flush
/// (two 64 MiB write buffers) and the compaction behind it, with room to spare.
inline constexpr std::uint64_t default_min_free_bytes = 256ULL << 20;

/// A stable lower-case name, e.g. "io_error".
std::string_view to_string(storage_errc code);

struct storage_error {
  storage_errc code;
  std::string message;
};

/// A value or a storage_error; never to be ignored.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::move(value)) {}
  result(storage_error error) : state_(std::move(error)) {}
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(state_); }
  const T& value() const { return std::get<0>(state_); }
  T* operator->() { return &value(); }
  const storage_error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, storage_error> state_;
};

struct done {};
using status = result<done>;

}  // namespace actorsync::storage
