// Bookkeeping of one session's pending upload and download waits. Pure logic: the session actor
// owns the response promises and timers; this class decides which waits are done.
//
// Upload wait: its target is the newest local client version when the wait was issued (kept per
// wait: a later wait never extends an earlier one); done once the server acknowledged it.
// Download wait: a MARK round trip; done once the server echoes a MARK that was sent after the
// wait was issued (the server echoes only after sending everything it held, and DOWNLOADs are
// integrated in order before the echo is handled). Waits without a MARK on the current binding
// get one when the session is bound; a lost binding forgets the MARKs so they are sent again.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <actorsync/protocol/messages.hpp>
#include "actors/flat_map.hpp"

namespace actorsync::runtime {

using wait_id = std::uint64_t;

class wait_registry {
 public:
  // ---- upload ----
  /// Returns true when the wait is already satisfied (nothing up to `target` is unacknowledged);
  /// it is then not stored.
  bool add_upload(wait_id id, protocol::version_type target, protocol::version_type acknowledged);
  /// Waits satisfied by the server acknowledging everything up to `acknowledged`.
  std::vector<wait_id> upload_acknowledged(protocol::version_type acknowledged);

  // ---- download ----
  void add_download(wait_id id);
  /// Assigns `request` to every download wait without a MARK on this binding. Returns true when
  /// any was assigned: the caller then sends MARK(request).
  bool assign_mark(protocol::request_ident request);
  /// Waits completed by the echo of MARK(request).
  std::vector<wait_id> mark_received(protocol::request_ident request);
  /// The binding ended: MARKs in flight will never be echoed.
  void binding_lost();
  /// A wait for the local download cursor to reach server version `target` (reads-your-writes
  /// across clients: no MARK). True when `downloaded` already reaches it; it is then not stored.
  bool add_download_to(wait_id id, protocol::version_type target,
                       protocol::version_type downloaded);
  /// Waits satisfied now that everything up to server version `downloaded` is integrated.
  std::vector<wait_id> downloaded_to(protocol::version_type downloaded);

  // ---- both ----
  /// Removes one wait (its timeout fired). False when it was already done.
  bool remove(wait_id id);
  /// Removes and returns every wait (pause, error, close).
  std::vector<wait_id> take_all();

  std::size_t upload_count() const { return uploads_.size(); }
  std::size_t download_count() const { return downloads_.size() + downloads_to_.size(); }
  bool empty() const { return uploads_.empty() && downloads_.empty() && downloads_to_.empty(); }

 private:
  flat_map<wait_id, protocol::version_type> uploads_;  ///< id -> target client version
  /// id -> MARK request it waits for on this binding (nullopt: none sent yet)
  flat_map<wait_id, std::optional<protocol::request_ident>> downloads_;
  flat_map<wait_id, protocol::version_type> downloads_to_;  ///< id -> target server version
};

}  // namespace actorsync::runtime
