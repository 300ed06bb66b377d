// A fresh directory under the system temp dir (mkdtemp: unique even across processes), removed
// with its contents on destruction.
#pragma once

#include <filesystem>
#include <string>

namespace actorsync::testing {

class temp_dir {
 public:
  /// Creates $TMPDIR/actorsync-<tag>-XXXXXX. Throws std::runtime_error when it cannot.
  explicit temp_dir(const std::string& tag = "test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace actorsync::testing
