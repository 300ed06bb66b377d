// Conversions into the client runtime's error enum (`sync_errc`, session_types.hpp) from
// protocol and storage errors, in exactly one place each (sync_error.cpp).
#pragma once

#include <string_view>

#include <actorsync/actors/session_types.hpp>
#include <actorsync/protocol/errors.hpp>
#include <actorsync/storage/errors.hpp>

namespace actorsync::runtime {

/// The one conversion from wire error codes (ERROR messages and local link failures).
sync_errc from_protocol(protocol::error_code code);

/// A refused WebSocket upgrade: by its `X-Actorsync-Reason` header (protocol.md §1), else (a
/// proxy, an older server) by its HTTP status. A reason this client does not know is fatal.
sync_errc from_upgrade_refusal(unsigned status, std::string_view reason);

/// The one conversion from storage errors (all are fatal for the session).
sync_errc from_storage(storage::storage_errc code);

}  // namespace actorsync::runtime
