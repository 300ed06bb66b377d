// A synced realm: local reads and writes through storage, and its sync session. Obtained from
// app::open_realm. Destroying the last handle closes the realm the way Realm does: the session
// stays alive until every local change is acknowledged (unless paused); close(true) stops now.
// A realm must not outlive the app it was opened from (its destructor tells the app).
#pragma once

#include <memory>
#include <string>

#include <actorsync/api/sync_session.hpp>
#include <actorsync/storage/realm_store.hpp>

namespace actorsync::api {

class realm {
 public:
  ~realm();
  realm(const realm&) = delete;
  realm& operator=(const realm&) = delete;

  const std::string& path() const;
  /// A write transaction; commit() makes it durable and queues it for upload.
  storage::write_transaction begin_write();
  /// Reads: the store's read API (get_field, object_exists, for_each_object, content_digest).
  const storage::realm_store& read() const;
  sync_session& session();

  /// Ends the session: after the last acknowledgement, or at once with stop_now.
  void close(bool stop_now = false);

 private:
  friend class app;
  realm(std::shared_ptr<storage::realm_store> store, std::unique_ptr<sync_session::impl> session);
  std::shared_ptr<storage::realm_store> store_;
  sync_session session_;  ///< held in place: a separate allocation cost 32 B per realm
  bool closed_ = false;
};

}  // namespace actorsync::api
