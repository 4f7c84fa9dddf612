#pragma once
// What the engine lends every run: the event loop, the resolver, a logger,
// and per-loop shared services (one curl multi handle, one ICMP socket, ...)
// that a check type creates lazily with shared<T>() or, when opening can
// fail, open_shared<T>().

#include <spdlog/logger.h>

#include <asio/io_context.hpp>
#include <memory>
#include <typeindex>
#include <unordered_map>

#include "common/expected.hpp"
#include "monitor/checks/net/host_resolver.hpp"

namespace netmon::checks {

class CheckRunEnv {
 public:
  CheckRunEnv(asio::io_context& io, std::shared_ptr<spdlog::logger> log)
      : io_(io), resolver_(io), log_(std::move(log)) {}
  CheckRunEnv(const CheckRunEnv&) = delete;
  CheckRunEnv& operator=(const CheckRunEnv&) = delete;

  asio::io_context& io() { return io_; }
  HostResolver& resolver() { return resolver_; }
  spdlog::logger& log() { return *log_; }

  // The loop's single instance of T, constructed as T(CheckRunEnv&) on first use.
  template <class T>
  T& shared() {
    std::shared_ptr<void>& slot = shared_[std::type_index(typeid(T))];
    if (!slot) slot = std::make_shared<T>(*this);
    return *static_cast<T*>(slot.get());
  }

  // The same for a service that can fail to open (no descriptors, no memory):
  // made by T::open(*this) -> Expected<std::shared_ptr<T>>. A failure is the
  // caller's to report as its run's outcome; it is not kept, so the next run
  // tries again.
  template <class T>
  Expected<std::shared_ptr<T>> open_shared() {
    std::shared_ptr<void>& slot = shared_[std::type_index(typeid(T))];
    if (!slot) {
      auto opened = T::open(*this);
      if (!opened) return opened.error();
      slot = *opened;
    }
    return std::static_pointer_cast<T>(slot);
  }

 private:
  asio::io_context& io_;
  HostResolver resolver_;
  std::shared_ptr<spdlog::logger> log_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> shared_;
};

}  // namespace netmon::checks
