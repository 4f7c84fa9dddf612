#pragma once
// Private network namespaces for tests that loopback in the host namespace
// cannot serve: a target that stays silent, a router between two hosts, ICMP
// errors. Nothing here touches the host's interfaces or firewall; every
// namespace is deleted when its object goes. Needs root (CAP_SYS_ADMIN and
// CAP_NET_ADMIN) and iproute2: create() returns an error to skip with otherwise.

#include <memory>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace netmon::testing {

class NetNamespace {
 public:
  // A fresh named namespace ("netmon-<tag>-<pid>-<n>") with its loopback up.
  static Expected<std::unique_ptr<NetNamespace>> create(std::string_view tag);
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  const std::string& name() const { return name_; }
  // Runs `ip -n <name> <args>`; the error carries the command and its output.
  Expected<void> ip(std::string_view args) const;
  // Writes `value` to /proc/sys/<path> as seen from inside the namespace,
  // e.g. write_sysctl("net/ipv4/icmp_echo_ignore_all", "1").
  Expected<void> write_sysctl(std::string_view path, std::string_view value) const;

 private:
  explicit NetNamespace(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Moves the calling thread into a namespace until destroyed. Sockets opened
// meanwhile stay in that namespace after the thread has left it.
class EnterNetNamespace {
 public:
  explicit EnterNetNamespace(const NetNamespace& ns);
  ~EnterNetNamespace();
  EnterNetNamespace(const EnterNetNamespace&) = delete;
  EnterNetNamespace& operator=(const EnterNetNamespace&) = delete;
  bool ok() const { return ok_; }

 private:
  int original_ = -1;
  bool ok_ = false;
};

// Runs a shell command, returning its combined output, or an error with it.
Expected<std::string> run_command(const std::string& command);

}  // namespace netmon::testing
