// Every size limit of the wire protocol, in one place. The codec enforces them on decode and
// encode; the server and client use the same values for flow control.
#pragma once

#include <cstddef>
#include <cstdint>

namespace actorsync::protocol::limits {

/// Largest frame either side accepts: bounds per-message memory and the time one frame can
/// occupy a connection; senders split larger uploads and downloads.
inline constexpr std::size_t max_frame_bytes = 16 * 1024 * 1024;

/// Changesets per UPLOAD or DOWNLOAD: bounds the array a decoder pre-allocates; 10,000 small
/// changesets (a typical catch-up batch) fit.
inline constexpr std::size_t max_changesets_per_message = 16384;

/// Instructions per changeset: one transaction; larger transactions are split by the writer.
inline constexpr std::size_t max_instructions_per_changeset = 100000;

/// Realm paths: long enough for nested tenant/user/realm names, short enough for keys.
inline constexpr std::size_t max_realm_path_bytes = 1024;

/// Collection, object id and field names: they are repeated in every key and instruction.
inline constexpr std::size_t max_name_bytes = 256;

/// Tokens: a signed token with a few dozen realm patterns fits.
inline constexpr std::size_t max_token_bytes = 8192;

/// String and binary field values: large blobs belong in a file store, not a changeset.
inline constexpr std::size_t max_value_bytes = 1024 * 1024;

/// ERROR message text: human-readable, not a transport for data.
inline constexpr std::size_t max_error_message_bytes = 4096;

/// Array nesting: frame > changesets > changeset > instructions > instruction is 5 levels;
/// anything deeper is a nesting bomb.
inline constexpr std::size_t max_nesting_depth = 5;

}  // namespace actorsync::protocol::limits
