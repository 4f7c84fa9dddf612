#include "common/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/sqlite_db.hpp"

namespace netmon {
namespace {

// The PID the holder wrote, or "" when the file holds none (a holder that
// has only just taken the lock).
std::string holder_pid(int fd) {
  std::array<char, 32> text{};
  const ssize_t size = ::pread(fd, text.data(), text.size() - 1, 0);
  if (size <= 0) return {};
  std::string pid(text.data(), static_cast<std::size_t>(size));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return {};
  return pid;
}

}  // namespace

DataDirLock::DataDirLock(const std::filesystem::path& dir, const std::string& lock_file_name,
                         const std::string& program) {
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
  const std::filesystem::path path = dir / lock_file_name;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("--data-dir " + dir.string() + ": cannot create " + lock_file_name +
                             " (" + std::strerror(errno) +
                             "); choose a directory you can write or fix its permissions");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string pid = holder_pid(fd_);
    ::close(fd_);
    throw std::runtime_error("--data-dir " + dir.string() + " is in use by another " + program +
                             (pid.empty() ? std::string() : " (PID " + pid + ")") +
                             "; stop it first, or give each " + program + " its own data dir");
  }
  // Best effort: the lock is what excludes; the PID only helps the next one
  // say who holds it.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

DataDirLock::~DataDirLock() {
  ::close(fd_);
}

}  // namespace netmon
