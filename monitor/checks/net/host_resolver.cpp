#include "monitor/checks/net/host_resolver.hpp"

namespace netmon::checks {
namespace {

bool family_matches(const asio::ip::address& address, IpFamily family) {
  return family == IpFamily::kAny || (family == IpFamily::kV4 && address.is_v4()) ||
         (family == IpFamily::kV6 && address.is_v6());
}

}  // namespace

std::string HostResolver::key_of(const std::string& host, IpFamily family) {
  return host + '/' + std::to_string(static_cast<int>(family));
}

void HostResolver::resolve(const std::string& host, IpFamily family, Callback done) {
  std::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(host, ec);
  if (!ec) {
    if (!family_matches(literal, family)) {
      done(Error{"address " + host + " is not of the requested IP family"});
      return;
    }
    done(Addresses{literal});
    return;
  }

  const std::string key = key_of(host, family);
  const auto now = std::chrono::steady_clock::now();
  if (const auto hit = cache_.find(key); hit != cache_.end()) {
    if (hit->second.expires > now) {
      done(hit->second.answer);
      return;
    }
    cache_.erase(hit);
  }
  auto [waiting, first] = pending_.try_emplace(key);
  waiting->second.push_back(std::move(done));
  if (!first) return;

  ++lookups_;
  const auto protocol = family == IpFamily::kV6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
  const auto on_answer = [this, key, host, family](
                             const std::error_code& error,
                             const asio::ip::tcp::resolver::results_type& results) {
    Expected<Addresses> answer{Error{"cannot resolve '" + host + "': " + error.message()}};
    if (!error) {
      Addresses addresses;
      for (const auto& entry : results) {
        const asio::ip::address address = entry.endpoint().address();
        if (family_matches(address, family) &&
            std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
          addresses.push_back(address);
        }
      }
      if (addresses.empty()) {
        answer = Error{"'" + host + "' has no address of the requested IP family"};
      } else {
        answer = std::move(addresses);
      }
    }
    if (error != asio::error::operation_aborted) {
      if (cache_.size() >= kMaxEntries) cache_.clear();
      cache_[key] = Entry{answer, std::chrono::steady_clock::now() +
                                      (answer.ok() ? std::chrono::seconds(kPositiveTtl)
                                                   : std::chrono::seconds(kNegativeTtl))};
    }
    auto node = pending_.extract(key);
    for (auto& callback : node.mapped())
      callback(answer);
  };
  if (family == IpFamily::kAny) {
    resolver_.async_resolve(host, "", on_answer);
  } else {
    resolver_.async_resolve(protocol, host, "", on_answer);
  }
}

}  // namespace netmon::checks
