#pragma once
// The one temporary directory for tests and benchmarks.

#include <filesystem>
#include <string_view>

namespace netmon::testing {

// A directory made with mkdtemp under $TMPDIR (or /tmp), removed with its
// contents on destruction. Throws std::system_error if it cannot be made.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "netmon-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Leaves the directory in place (to look at after a run).
  void keep() { keep_ = true; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

}  // namespace netmon::testing
