#include "tests/support/certificates.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace actorsync::testing {

std::filesystem::path source_dir() {
  return ACTORSYNC_SOURCE_DIR;
}

test_certificates::test_certificates() {
  const auto command = "\"" + (source_dir() / "tools" / "gen-test-certs.sh").string() + "\" \"" +
                       dir.path().string() + "\" 2 > /dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("gen-test-certs.sh failed");
}

}  // namespace actorsync::testing
