#pragma once
// Name resolution that never blocks the loop: IP literals answer at once,
// names go through a small cache and then getaddrinfo on Asio's resolver
// thread. Concurrent lookups of one name share a single query.

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/expected.hpp"
#include "monitor/checks/params/ip_family.hpp"

namespace netmon::checks {

class HostResolver {
 public:
  using Addresses = std::vector<asio::ip::address>;
  using Callback = std::function<void(Expected<Addresses>)>;

  static constexpr std::chrono::seconds kPositiveTtl{60};
  static constexpr std::chrono::seconds kNegativeTtl{5};
  static constexpr std::size_t kMaxEntries = 4096;

  explicit HostResolver(asio::io_context& io) : resolver_(io) {}

  // Calls `done` inline for IP literals and cache hits, later on the loop otherwise.
  void resolve(const std::string& host, IpFamily family, Callback done);

  std::size_t lookups() const { return lookups_; }

 private:
  struct Entry {
    Expected<Addresses> answer{Error{}};
    std::chrono::steady_clock::time_point expires;
  };
  static std::string key_of(const std::string& host, IpFamily family);

  asio::ip::tcp::resolver resolver_;
  std::unordered_map<std::string, Entry> cache_;
  std::unordered_map<std::string, std::vector<Callback>> pending_;
  std::size_t lookups_ = 0;
};

}  // namespace netmon::checks
