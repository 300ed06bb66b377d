// Built with nothing but `pkg-config --cflags --libs actorsync` (no CMake): opens a realm, writes
// and reads back locally. Exit status 0 when the write reads back.
#include <cstdlib>
#include <iostream>
#include <string>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>

int main(int argc, char** argv) {
  using namespace actorsync;
  if (argc != 2) return EXIT_FAILURE;
  api::app_config config;
  config.server_url = "ws://127.0.0.1:9";  // never reached: the realm is only used locally
  config.data_directory = argv[1];
  api::app app(config);
  auto realm = app.open_realm("/local", {"alice", "no-token"}, {.open_paused = true});
  realm->begin_write()
      .create_object("notes", "n1")
      .set_field("notes", "n1", "n", std::int64_t{7})
      .commit();
  const auto n = realm->read().get_field("notes", "n1", "n");
  if (!n || *n != protocol::value{std::int64_t{7}}) {
    std::cerr << "local_only: the write does not read back\n";
    return EXIT_FAILURE;
  }
  std::cout << "local write reads back\n";
  return EXIT_SUCCESS;
}
