#pragma once
// The monitor's data dir (--data-dir): created if missing (owner only: 0700,
// its files 0600), checked writable, and held with an exclusive lock on
// DIR/monitor.lock for the agent's life, because two monitors on one data
// dir would hand out the same sequence numbers. Errors name the flag and the
// fix.

#include <filesystem>

namespace netmon::agent {

class DataDirLock {
 public:
  static constexpr const char* kLockFileName = "monitor.lock";

  // Throws std::runtime_error when the directory cannot be created or
  // written, or another process holds it.
  explicit DataDirLock(const std::filesystem::path& dir);
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();  // releases the lock

 private:
  int fd_ = -1;
};

}  // namespace netmon::agent
