#include "monitor/agent/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/sqlite_db.hpp"

namespace netmon::agent {

DataDirLock::DataDirLock(const std::filesystem::path& dir) {
  std::string error;
  try {
    sqlite::create_private_directory(dir);
  } catch (const std::filesystem::filesystem_error& e) {
    error = e.code().message();
  }
  if (!error.empty() || !std::filesystem::is_directory(dir)) {
    throw std::runtime_error("--data-dir " + dir.string() + ": cannot create the directory (" +
                             (!error.empty() ? error : "not a directory") +
                             "); choose another path");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw std::runtime_error("--data-dir " + dir.string() +
                             ": not writable; choose a directory you can write or fix its "
                             "permissions");
  }
  const std::filesystem::path path = dir / kLockFileName;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("--data-dir " + dir.string() + ": cannot create " + kLockFileName +
                             " (" + std::strerror(errno) +
                             "); choose a directory you can write or fix its permissions");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw std::runtime_error("--data-dir " + dir.string() +
                             " is in use by another netmon-monitor; give each monitor its own "
                             "data dir");
  }
}

DataDirLock::~DataDirLock() {
  ::close(fd_);
}

}  // namespace netmon::agent
