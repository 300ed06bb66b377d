// Both stores together, as the sync session and the server use them: clients commit locally,
// upload through history_store::integrate, download with history_store::read (skipping their own
// changesets) and integrate_download. Whatever the interleaving of commits, uploads and partial
// downloads, once everyone is caught up all clients hold the same content and their progress
// counters add up. RapidCheck: a failure prints the seed (rerun with RC_PARAMS="seed=<seed>").
#include <actorsync/storage/realm_store.hpp>
#include "storage/history_store.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <atomic>

#include "protocol/codec.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::storage {
namespace {

struct stores {
  testing::temp_dir client_dir;
  testing::temp_dir server_dir;
  std::shared_ptr<database> clients =
      database::open(client_dir.path(), {durability::process_crash}).value();
  std::shared_ptr<history_store> server =
      history_store::open(server_dir.path(), history_options{.durable = false}).value();
  std::atomic<int> next_case{0};
};

stores& shared() {
  static stores instance;
  return instance;
}

struct client {
  std::shared_ptr<realm_store> realm;
  file_ident_grant grant;
  protocol::version_type uploaded = 0;  ///< upload cursor kept by the session, in memory
};

void commit_random(client& c) {
  const auto id = *rc::gen::element<std::string>("1", "2");
  const auto field = *rc::gen::element<std::string>("x", "y");
  auto tx = c.realm->begin_write();
  switch (*rc::gen::inRange(0, 4)) {
    case 0:
      tx.create_object("c", id);
      break;
    case 1:
      tx.erase_object("c", id);
      break;
    case 2:
      tx.set_field("c", id, field, *rc::gen::inRange<std::int64_t>(0, 100));
      break;
    default:
      tx.add_integer("c", id, field, *rc::gen::inRange<std::int64_t>(-3, 4));
  }
  RC_ASSERT(tx.commit().ok());
}

void upload(client& c, const std::string& path, std::size_t max_bytes) {
  auto changesets = c.realm->local_changesets_after(c.uploaded, max_bytes);
  RC_ASSERT(changesets.ok());
  if (changesets.value().empty()) return;
  const auto last = changesets.value().back().client_version;
  auto integrated = shared().server->integrate(path, c.grant, std::move(changesets.value()));
  RC_ASSERT(integrated.ok());
  RC_ASSERT(integrated.value().last_integrated_client_version == last);
  c.uploaded = last;
}

/// One DOWNLOAD; returns the server's remaining bytes after it.
std::uint64_t download(client& c, const std::string& path, std::size_t max_bytes) {
  const auto cursor = c.realm->metadata().download_server_version;
  auto range = shared().server->read(path, cursor, max_bytes, c.grant.ident);
  RC_ASSERT(range.ok());
  protocol::download_message message;
  message.server_version = range.value().server_version;
  message.last_integrated_client_version =
      shared().server->last_integrated_client_version(path, c.grant.ident);
  message.downloadable_bytes = range.value().remaining_bytes;
  message.changesets = std::move(range.value().changesets);
  RC_ASSERT(c.realm->integrate_download(message).ok());
  return range.value().remaining_bytes;
}

RC_GTEST_PROP(SyncRoundTrip, ClientsSyncingThroughTheServerConverge, ()) {
  const auto path = "/shared/" + std::to_string(shared().next_case++);
  const int count = *rc::gen::inRange(2, 4);
  std::vector<client> clients(count);
  for (int i = 0; i < count; ++i) {
    clients[i].realm = shared().clients->open_realm(path + "/client" + std::to_string(i)).value();
    // Some clients write before they have a file ident (re-stamped when it arrives).
    if (*rc::gen::arbitrary<bool>()) commit_random(clients[i]);
    clients[i].grant = shared().server->allocate_client_file_ident(path).value();
    RC_ASSERT(clients[i]
                  .realm->set_client_file_ident(clients[i].grant.ident, clients[i].grant.salt)
                  .ok());
  }
  const int steps = *rc::gen::inRange(5, 30);
  for (int s = 0; s < steps; ++s) {
    auto& c = clients[*rc::gen::inRange(0, count)];
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        commit_random(c);
        break;
      case 1:
        upload(c, path, *rc::gen::inRange<std::size_t>(1, 300));
        break;
      default:
        download(c, path, *rc::gen::inRange<std::size_t>(1, 300));
    }
  }
  // Catch everyone up: upload everything, then download until nothing remains.
  for (auto& c : clients) upload(c, path, std::size_t{1} << 30);
  for (auto& c : clients) {
    while (download(c, path, 200) > 0) {
    }
  }
  const auto latest = shared().server->latest_server_version(path);
  const auto digest = clients[0].realm->content_digest();
  for (auto& c : clients) {
    RC_ASSERT(c.realm->content_digest() == digest);
    const auto meta = c.realm->metadata();
    RC_ASSERT(meta.download_server_version == latest);
    RC_ASSERT(meta.acknowledged_client_version == meta.latest_client_version);
    RC_ASSERT(meta.uploaded_bytes == meta.uploadable_bytes);
    RC_ASSERT(meta.downloadable_bytes == 0u);
    // Every byte of the others' history arrived, each once.
    auto others = shared().server->read(path, 0, std::size_t{1} << 30, c.grant.ident);
    RC_ASSERT(others.ok());
    std::uint64_t others_bytes = 0;
    for (const auto& cs : others.value().changesets) others_bytes += protocol::encoded_size(cs);
    RC_ASSERT(meta.downloaded_bytes == others_bytes);
  }
}

}  // namespace
}  // namespace actorsync::storage
