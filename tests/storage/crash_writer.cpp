// Child process of the crash-consistency test: commits transactions into one realm forever and
// writes each committed client version as a line to stdout, after the commit returned. The test
// SIGKILLs it at a random moment. Durability process_crash: the WAL is written (not fsynced)
// before commit returns, which is exactly what survives SIGKILL (not power loss).
#include <unistd.h>

#include <cstdio>
#include <string>

#include <actorsync/storage/realm_store.hpp>

int main(int argc, char** argv) {
  using namespace actorsync::storage;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <data directory>\n", argv[0]);
    return 2;
  }
  auto db = database::open(argv[1], database_options{durability::process_crash});
  if (!db) {
    std::fprintf(stderr, "open: %s\n", db.error().message.c_str());
    return 1;
  }
  auto realm = db.value()->open_realm("/crash");
  if (!realm) {
    std::fprintf(stderr, "open_realm: %s\n", realm.error().message.c_str());
    return 1;
  }
  for (;;) {
    const auto next =
        static_cast<std::int64_t>(realm.value()->metadata().latest_client_version + 1);
    // Several fields per transaction: the test checks that they move together.
    auto committed = realm.value()
                         ->begin_write()
                         .create_object("txn", std::to_string(next))
                         .create_object("state", "s")
                         .set_field("state", "s", "a", next)
                         .set_field("state", "s", "b", next)
                         .set_field("state", "s", "c", std::string(200, 'x') + std::to_string(next))
                         .add_integer("state", "s", "count", 1)
                         .commit();
    if (!committed) {
      std::fprintf(stderr, "commit: %s\n", committed.error().message.c_str());
      return 1;
    }
    const auto line = std::to_string(committed.value()) + "\n";
    if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return 0;  // the test stopped reading
    }
  }
}
