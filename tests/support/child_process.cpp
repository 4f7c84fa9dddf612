#include "tests/support/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "tests/support/await.hpp"

namespace netmon::testing {
namespace {

// Ports we pick from: below Linux's default ephemeral range (32768-60999), so
// never one the kernel hands to a port-0 bind elsewhere, and above the
// well-known and registered ports other tools like to use.
constexpr int kFirstPort = 20000;
constexpr int kLastPort = 32000;

bool can_bind(std::uint16_t port, int type) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // libzmq binds with SO_REUSEADDR, so a port with connections in TIME_WAIT
  // is free for it: probe the same way.
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

namespace {

// Random picks from kFirstPort..kLastPort that bind as `type`, never the
// same port twice in this process (whichever protocol asked).
std::uint16_t free_port(int type, const char* what) {
  static std::mutex mutex;
  static std::set<std::uint16_t> handed_out;
  static std::mt19937 random{std::random_device{}()};
  std::lock_guard lock(mutex);
  std::uniform_int_distribution<int> pick(kFirstPort, kLastPort);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (handed_out.contains(port) || !can_bind(port, type)) continue;
    handed_out.insert(port);
    return port;
  }
  throw std::runtime_error(std::string(what) + ": no bindable port on 127.0.0.1 in 20000-32000");
}

}  // namespace

std::uint16_t free_tcp_port() {
  return free_port(SOCK_STREAM, "free_tcp_port");
}

std::uint16_t free_udp_port() {
  return free_port(SOCK_DGRAM, "free_udp_port");
}

std::string loopback_endpoint(std::uint16_t port) {
  return "tcp://127.0.0.1:" + std::to_string(port);
}

ChildProcess::ChildProcess(std::filesystem::path binary, std::vector<std::string> args,
                           std::filesystem::path log_file)
    : log_path_(std::move(log_file)) {
  // Everything the child needs is prepared before fork: between fork and
  // exec a multi-threaded parent's child may only make async-signal-safe calls.
  args.insert(args.begin(), binary.string());
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string path = binary.string();

  const int out =
      ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0)
    throw std::system_error(errno, std::generic_category(), "open " + log_path_.string());
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Dies with the thread that started it, so no test leaves orphans.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(path.c_str(), argv.data());
    static constexpr char kFailed[] = "child_process: exec failed\n";
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kFailed, sizeof kFailed - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out);
  if (null_in >= 0) ::close(null_in);
  if (pid < 0) throw std::system_error(fork_errno, std::generic_category(), "fork " + path);
  pid_ = pid;
  log_fd_ = ::open(log_path_.c_str(), O_RDONLY | O_CLOEXEC);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  if (log_fd_ >= 0) ::close(log_fd_);
}

void ChildProcess::read_more() {
  if (log_fd_ < 0) return;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(log_fd_, buffer, sizeof buffer);
    if (n <= 0) return;
    text_.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> ChildProcess::wait_for_line(std::string_view needle,
                                                       std::chrono::milliseconds timeout,
                                                       std::size_t from) {
  std::optional<std::string> found;
  std::size_t searched = from;  // complete lines before this were looked at
  (void)await(
      [&] {
        const bool was_running = running();
        read_more();
        while (true) {
          const std::size_t eol = text_.find('\n', searched);
          if (eol == std::string::npos) break;
          const std::string_view line(text_.data() + searched, eol - searched);
          searched = eol + 1;
          if (line.find(needle) != std::string_view::npos) {
            found = std::string(line);
            return true;
          }
        }
        // An exited process writes nothing more; all it wrote was read above.
        return !was_running;
      },
      timeout);
  return found;
}

std::size_t ChildProcess::log_mark() {
  read_more();
  // The start of the line being written: it is still to be looked at.
  const std::size_t eol = text_.rfind('\n');
  return eol == std::string::npos ? 0 : eol + 1;
}

std::size_t ChildProcess::count_lines(std::string_view needle, std::size_t from) {
  read_more();
  std::size_t count = 0;
  std::size_t at = from;
  while (true) {
    const std::size_t eol = text_.find('\n', at);
    if (eol == std::string::npos) return count;
    if (std::string_view(text_.data() + at, eol - at).find(needle) != std::string_view::npos)
      ++count;
    at = eol + 1;
  }
}

std::string ChildProcess::log() {
  read_more();
  return text_;
}

void ChildProcess::signal(int signal_number) {
  if (pid_ > 0 && !exit_status_) ::kill(pid_, signal_number);
}

bool ChildProcess::reap(int options) {
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

bool ChildProcess::running() {
  return !reap(WNOHANG);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (!await([&] { return reap(WNOHANG); }, timeout)) return std::nullopt;
  return exit_status_;
}

std::optional<int> ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (auto status = wait_exit(grace)) return status;
  signal(SIGKILL);
  reap(0);
  return std::nullopt;
}

std::chrono::microseconds ChildProcess::cpu_time() const {
  std::ifstream file("/proc/" + std::to_string(pid_) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: fields are
  // counted from after its closing parenthesis; utime and stime are 14 and 15.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::chrono::microseconds{0};
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int index = 3; index < 14 && fields >> field; ++index) {
  }
  long long utime = 0;
  long long stime = 0;
  fields >> utime >> stime;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return std::chrono::microseconds{(utime + stime) * 1'000'000 / (ticks > 0 ? ticks : 100)};
}

}  // namespace netmon::testing
