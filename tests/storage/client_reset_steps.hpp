// Steps of a client reset on one realm, shared by the reset tests and their crashing child
// process (reset_crasher.cpp). Each step throws std::runtime_error naming what failed.
#pragma once

#include <actorsync/storage/realm_store.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace actorsync::storage::reset_steps {

using protocol::value;

template <class T>
T checked(result<T> r, const char* doing) {
  if (!r.ok()) throw std::runtime_error(std::string(doing) + ": " + r.error().message);
  return std::move(r.value());
}

struct opened {
  std::shared_ptr<database> db;
  std::shared_ptr<realm_store> realm;
};

inline opened open(const std::filesystem::path& dir) {
  auto db = checked(database::open(dir, database_options{durability::process_crash}), "open");
  auto realm = checked(db->open_realm("/reset"), "open_realm");
  return {db, realm};
}

/// The server's copy: origin 7 created "remote" (server version 3).
inline protocol::download_message servers_copy() {
  protocol::changeset cs;
  cs.origin_file_ident = 7;
  cs.client_version = 1;
  cs.origin_timestamp = 1000;
  cs.server_version = 3;
  cs.instructions = {protocol::create_object{"items", "remote"},
                     protocol::set_field{"items", "remote", "by", value{std::string("server")}}};
  protocol::download_message d;
  d.server_version = 3;
  d.changesets = {cs};
  return d;
}

/// A realm with file ident 5: "acked" acknowledged by the server, "unsynced" not.
inline void write_history(realm_store& realm) {
  checked(realm.set_client_file_ident(5, 55), "set_client_file_ident");
  checked(realm.begin_write().create_object("items", "acked").commit(), "commit");
  protocol::download_message ack;
  ack.server_version = 1;
  ack.last_integrated_client_version = 1;
  checked(realm.integrate_download(ack), "integrate_download");
  checked(realm.begin_write()
              .create_object("items", "unsynced")
              .set_field("items", "unsynced", "n", value{std::int64_t{42}})
              .commit(),
          "commit");
}

/// The session's part: the staging realm gets its file ident (IDENT), then the copy (DOWNLOAD).
inline void fill(realm_store& staging) {
  checked(staging.set_client_file_ident(9, 99), "staging IDENT");
  checked(staging.integrate_download(servers_copy()), "staging DOWNLOAD");
}

/// Begins a reset and fills its staging realm.
inline std::shared_ptr<realm_store> staged(realm_store& realm) {
  auto staging = checked(realm.begin_reset(), "begin_reset");
  fill(*staging);
  return staging;
}

}  // namespace actorsync::storage::reset_steps
