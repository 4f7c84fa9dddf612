#include "tests/support/net_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>

namespace netmon::testing {

Expected<std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return Error{"cannot run '" + command + "'"};
  std::string output;
  std::array<char, 512> chunk{};
  while (const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) {
    output.append(chunk.data(), n);
  }
  const int status = ::pclose(pipe);
  if (status != 0) {
    return Error{"'" + command + "' failed (status " + std::to_string(status) + "): " + output};
  }
  return output;
}

Expected<std::unique_ptr<NetNamespace>> NetNamespace::create(std::string_view tag) {
  if (::geteuid() != 0) return Error{"network namespaces need root"};
  static std::atomic<int> counter{0};
  std::string name = "netmon-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter++);
  if (auto made = run_command("ip netns add " + name); !made) {
    return Error{"cannot create a network namespace: " + made.error().message};
  }
  std::unique_ptr<NetNamespace> ns(new NetNamespace(std::move(name)));
  if (auto up = ns->ip("link set lo up"); !up) return up.error();
  return ns;
}

NetNamespace::~NetNamespace() {
  (void)run_command("ip netns del " + name_);
}

Expected<void> NetNamespace::ip(std::string_view args) const {
  auto done = run_command("ip -n " + name_ + " " + std::string(args));
  if (!done) return done.error();
  return {};
}

Expected<void> NetNamespace::write_sysctl(std::string_view path, std::string_view value) const {
  EnterNetNamespace inside(*this);
  if (!inside.ok()) return Error{"cannot enter namespace " + name_};
  std::ofstream file("/proc/sys/" + std::string(path));
  file << value << '\n';
  file.close();
  if (!file) return Error{"cannot write /proc/sys/" + std::string(path) + " in " + name_};
  return {};
}

EnterNetNamespace::EnterNetNamespace(const NetNamespace& ns) {
  original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
  ok_ = original_ >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
  if (target >= 0) ::close(target);
}

EnterNetNamespace::~EnterNetNamespace() {
  if (original_ < 0) return;
  if (ok_) (void)::setns(original_, CLONE_NEWNET);
  ::close(original_);
}

}  // namespace netmon::testing
