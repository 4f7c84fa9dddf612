#include "tests/integration/integration_env.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

extern char** environ;

namespace netmon::integration {
namespace {

constexpr const char* kStateVariable = "NETMON_INTEGRATION_STATE";
constexpr const char* kSkipVariable = "NETMON_SKIP_INTEGRATION";

bool skip_requested() {
  const char* skip = std::getenv(kSkipVariable);
  return skip != nullptr && std::string(skip) == "1";
}

// Set when this process started the servers itself (run outside ctest).
std::string& standalone_error() {
  static std::string error;
  return error;
}

// Outside ctest: start the servers for this process and stop them at exit.
class StandaloneServers : public ::testing::Environment {
 public:
  void SetUp() override {
    if (std::getenv(kStateVariable) != nullptr || skip_requested()) return;
    std::string pattern = (std::filesystem::temp_directory_path() / "netmon-integ-state.XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      standalone_error() = "mkdtemp failed: " + std::string(std::strerror(errno));
      return;
    }
    state_dir_ = pattern;
    const ToolOutput started = run_tool({NETMON_SERVERS_SCRIPT, "start", state_dir_});
    if (started.exit_code != 0) {
      standalone_error() = "servers.sh start failed (exit " + std::to_string(started.exit_code) +
                           "): " + started.out + started.err;
    }
    setenv(kStateVariable, state_dir_.c_str(), 1);
  }

  void TearDown() override {
    if (state_dir_.empty()) return;
    run_tool({NETMON_SERVERS_SCRIPT, "stop", state_dir_});
    std::error_code ignored;
    std::filesystem::remove_all(state_dir_, ignored);
  }

 private:
  std::string state_dir_;
};

[[maybe_unused]] const auto* const kStandalone =
    ::testing::AddGlobalTestEnvironment(new StandaloneServers);

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

Servers load_servers() {
  Servers servers;
  if (skip_requested()) {
    servers.skip_reason = "NETMON_SKIP_INTEGRATION=1: real-server integration tests skipped";
    return servers;
  }
  if (!standalone_error().empty()) {
    servers.error = standalone_error();
    return servers;
  }
  const char* state = std::getenv(kStateVariable);
  if (state == nullptr) {
    servers.error = std::string(kStateVariable) + " is not set";
    return servers;
  }
  const std::string env_file = std::string(state) + "/servers.env";
  auto values = read_env_file(env_file);
  if (values["NETMON_SKIP"] == "1") {
    servers.skip_reason =
        "NETMON_SKIP_INTEGRATION=1 when the servers were started: integration tests skipped";
    return servers;
  }
  servers.http_port = values["NETMON_HTTP_PORT"];
  servers.https_port = values["NETMON_HTTPS_PORT"];
  servers.dns_port = values["NETMON_DNS_PORT"];
  servers.ntp_port = values["NETMON_NTP_PORT"];
  servers.ntp_ahead_port = values["NETMON_NTP_AHEAD_PORT"];
  servers.ntp_ahead_seconds = std::atoi(values["NETMON_NTP_AHEAD_SECONDS"].c_str());
  servers.ca_file = values["NETMON_CA_FILE"];
  if (servers.http_port.empty() || servers.https_port.empty() || servers.dns_port.empty() ||
      servers.ntp_port.empty() || servers.ntp_ahead_port.empty() ||
      servers.ntp_ahead_seconds == 0 || servers.ca_file.empty()) {
    servers.error = "no running servers described in " + env_file +
                    " (did the fixture test integration.servers.start fail?)";
  }
  return servers;
}

}  // namespace

const Servers& servers() {
  static const Servers loaded = load_servers();
  return loaded;
}

ToolOutput run_tool(const std::vector<std::string>& argv) {
  ToolOutput output;
  std::array<int, 2> out_pipe{-1, -1};
  std::array<int, 2> err_pipe{-1, -1};
  if (pipe2(out_pipe.data(), O_CLOEXEC) != 0) return output;
  if (pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return output;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawned != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    output.err = "cannot run " + argv[0] + ": " + std::strerror(spawned);
    return output;
  }
  // Drain both pipes until the tool closes them (each tool has its own timeout).
  std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  std::array<std::string*, 2> sinks{&output.out, &output.err};
  int open_fds = 2;
  std::array<char, 4096> buffer{};
  while (open_fds > 0) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        sinks[i]->append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace netmon::integration
