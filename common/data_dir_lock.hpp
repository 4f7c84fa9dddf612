#pragma once
// A program's data dir (--data-dir): created if missing (owner only: 0700,
// its files 0600), checked writable, and held with an exclusive advisory lock
// (flock) on DIR/<lock file> for the holder's life. Two monitors on one dir
// would hand out the same sequence numbers; two managers would be two writers
// of one store. The holder's PID is written into the lock file, so the one
// refused can say who holds it. Errors name the flag and the fix.

#include <filesystem>
#include <string>

namespace netmon {

class DataDirLock {
 public:
  // `program` names the holder in errors ("netmon-monitor"). Throws
  // std::runtime_error when the directory cannot be created or written, or
  // another process holds the lock.
  DataDirLock(const std::filesystem::path& dir, const std::string& lock_file_name,
              const std::string& program);
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();  // releases the lock

 private:
  int fd_ = -1;
};

}  // namespace netmon
