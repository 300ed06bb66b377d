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

bool test_certificates::sign_for_another_host(const std::string& name) const {
  const auto command =
      "cd '" + dir.path().string() +
      "' && openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout " +
      name + ".key -out " + name + ".csr -subj '/CN=other.example' 2>/dev/null && " +
      "printf 'subjectAltName=DNS:other.example\\nextendedKeyUsage=serverAuth\\n' > " + name +
      ".ext && openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial " +
      "-out " + name + ".pem -days 2 -extfile " + name + ".ext 2>/dev/null";
  return std::system(command.c_str()) == 0;
}

}  // namespace actorsync::testing
