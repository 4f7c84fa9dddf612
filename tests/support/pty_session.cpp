#include "tests/support/pty_session.hpp"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

extern char** environ;

namespace netmon::testing {
namespace {

// The environment for the child: ours, then TERM=xterm (libedit needs a
// terminal it knows), then the caller's, each NAME replacing an earlier one.
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry)
    env.emplace_back(*entry);
  std::vector<std::string> changes{"TERM=xterm"};
  changes.insert(changes.end(), overrides.begin(), overrides.end());
  for (const std::string& change : changes) {
    const std::string name = change.substr(0, change.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(name); });
    env.push_back(change);
  }
  return env;
}

}  // namespace

PtySession::PtySession(const std::filesystem::path& binary, std::vector<std::string> args,
                       const std::vector<std::string>& env, unsigned short columns,
                       unsigned short rows) {
  // Everything the child needs is built before fork: a multi-threaded
  // parent's child may only make async-signal-safe calls before exec.
  args.insert(args.begin(), binary.string());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = child_environment(env);
  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (auto& entry : environment)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  const std::string path = binary.string();

  winsize size{};
  size.ws_col = columns;
  size.ws_row = rows;
  const pid_t parent = ::getpid();
  const pid_t pid = ::forkpty(&master_, nullptr, nullptr, &size);
  if (pid == 0) {
    // Dies with the thread that started it: a crashed test leaves no orphan.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(path.c_str(), argv.data(), envp.data());
    static constexpr char kFailed[] = "pty_session: exec failed\n";
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kFailed, sizeof kFailed - 1);
    ::_exit(127);
  }
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "forkpty " + path);
  pid_ = pid;
}

PtySession::~PtySession() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  if (master_ >= 0) ::close(master_);
}

void PtySession::write(std::string_view keys) {
  while (!keys.empty()) {
    const ssize_t n = ::write(master_, keys.data(), keys.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(errno, std::generic_category(), "write to the pty");
    keys.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool PtySession::read_some(std::chrono::milliseconds wait) {
  if (closed_) return false;
  pollfd item{master_, POLLIN, 0};
  const int ready = ::poll(&item, 1, static_cast<int>(std::max<long long>(0, wait.count())));
  if (ready <= 0) return true;
  char buffer[4096];
  const ssize_t n = ::read(master_, buffer, sizeof buffer);
  // EIO: every slave descriptor is closed, the program has exited.
  if (n <= 0) {
    if (n < 0 && errno == EINTR) return true;
    closed_ = true;
    return false;
  }
  raw_.append(buffer, static_cast<std::size_t>(n));
  return true;
}

std::string PtySession::screen() {
  // CSI sequences (ESC [ parameters final-byte), other two-byte escapes,
  // and carriage returns are dropped; everything else is kept.
  while (parsed_ < raw_.size()) {
    const char c = raw_[parsed_];
    if (c == '\x1b') {
      if (parsed_ + 1 >= raw_.size()) break;  // the rest has not come yet
      if (raw_[parsed_ + 1] == '[') {
        std::size_t end = parsed_ + 2;
        while (end < raw_.size() && (raw_[end] < 0x40 || raw_[end] > 0x7e))
          ++end;
        if (end >= raw_.size()) break;
        parsed_ = end + 1;
      } else {
        parsed_ += 2;
      }
      continue;
    }
    if (c != '\r' && c != '\a') screen_ += c;
    ++parsed_;
  }
  return screen_;
}

std::size_t PtySession::mark() {
  // What was drawn before now belongs before the mark, read or not.
  while (!closed_) {
    pollfd item{master_, POLLIN, 0};
    if (::poll(&item, 1, 0) <= 0 || !read_some(std::chrono::milliseconds{0})) break;
  }
  return screen().size();
}

bool PtySession::wait_for(std::string_view text, std::size_t from,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::string seen = screen();
    if (seen.size() > from && seen.find(text, from) != std::string::npos) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!read_some(left)) return screen().find(text, from) != std::string::npos;
  }
}

bool PtySession::reap(int options) {
  if (exit_status_) return true;
  int status = 0;
  pid_t got = 0;
  do {
    got = ::waitpid(pid_, &status, options);
  } while (got < 0 && errno == EINTR);
  if (got != pid_) return false;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

std::optional<int> PtySession::wait_exit(std::chrono::milliseconds timeout) {
  // Reading keeps the terminal drained: a program blocked writing to a full
  // pty would never exit.
  const bool exited = await(
      [&] {
        read_some(std::chrono::milliseconds{0});
        return reap(WNOHANG);
      },
      timeout);
  if (!exited) return std::nullopt;
  return exit_status_;
}

}  // namespace netmon::testing
