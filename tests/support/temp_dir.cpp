#include "tests/support/temp_dir.hpp"

#include <stdlib.h>

#include <stdexcept>
#include <system_error>
#include <vector>

namespace actorsync::testing {

temp_dir::temp_dir(const std::string& tag) {
  const auto pattern =
      (std::filesystem::temp_directory_path() / ("actorsync-" + tag + "-XXXXXX")).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary directory " + pattern + ": " +
                             std::generic_category().message(errno));
  }
  path_ = name.data();
  // mkdtemp makes it private (0700); the cluster tests' PostgreSQL runs as its own user and
  // needs to reach its data directory inside, as it could in a create_directories() one.
  std::filesystem::permissions(path_, std::filesystem::perms(0755));
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace actorsync::testing
