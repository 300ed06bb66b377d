// Child process of the client reset crash test: runs the steps of a reset on the realm the test
// prepared and SIGKILLs itself right after step `kill_after` (0 begun, 1 the server's copy
// downloaded, 2 a local write during the reset, 3 the swap). Exit status 2: a step failed.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "tests/storage/client_reset_steps.hpp"

int main(int argc, char** argv) {
  using namespace actorsync::storage;
  using namespace actorsync::storage::reset_steps;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <data directory> <kill after step 0..3>\n", argv[0]);
    return 2;
  }
  const int kill_after = std::atoi(argv[2]);
  try {
    auto [db, realm] = open(argv[1]);
    auto staging = checked(realm->begin_reset(), "begin_reset");
    if (kill_after == 0) raise(SIGKILL);
    fill(*staging);
    if (kill_after == 1) raise(SIGKILL);
    checked(realm->begin_write().create_object("items", "during").commit(), "commit");
    if (kill_after == 2) raise(SIGKILL);
    checked(realm->finish_reset(*staging, true), "finish_reset");
    raise(SIGKILL);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reset_crasher: %s\n", e.what());
  }
  return 2;
}
