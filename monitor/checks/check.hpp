#pragma once
// The one small interface every check type implements.
//
//   CheckType  – a registry row: name + parse function.
//   Check      – a validated, immutable check of one type (made once by parse);
//                every type's is a TypedCheck<Config, Run>.
//   CheckRun   – one run of a check: speaks the protocol on the loop and calls
//                finish() exactly once. The runner (check_runner.hpp) owns the
//                deadline, timings, ids and timestamps; a run never blocks.
//
// A target being down is a measurement (kDown with a stable reason token);
// kError means netmon could not measure at all and should be rare and loud.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/check_run_env.hpp"

namespace netmon::checks {

struct Outcome {
  CheckStatus status = CheckStatus::kUp;
  std::string reason;  // stable token, e.g. connect_refused; empty when up
  std::string error;   // human text
  std::optional<std::chrono::microseconds> latency;  // default: the run's total time
  nlohmann::json details = nlohmann::json::object();
};

Outcome up(nlohmann::json details = nlohmann::json::object());
Outcome down(std::string reason, std::string error,
             nlohmann::json details = nlohmann::json::object());
// netmon itself could not measure (permissions, descriptors).
Outcome failure(std::string reason, std::string error);

enum class Phase { kResolve, kConnect, kTls, kFirstByte };

class CheckRun : public std::enable_shared_from_this<CheckRun> {
 public:
  using Completion = std::function<void(Outcome, const PhaseTimings&)>;

  virtual ~CheckRun() = default;
  CheckRun(const CheckRun&) = delete;
  CheckRun& operator=(const CheckRun&) = delete;

  // Runner only. `done` is called once, possibly inline, unless cancel() comes first.
  void start(Completion done);
  // Runner only: the deadline passed or the engine stops. After this no
  // completion is delivered; on_cancel() must close sockets and timers so
  // pending handlers finish with operation_aborted.
  void cancel();

  const PhaseTimings& timings() const { return timings_; }
  bool done() const { return done_; }

 protected:
  explicit CheckRun(CheckRunEnv& env) : env_(env) {}

  virtual void on_start() = 0;
  virtual void on_cancel() = 0;

  // Records the end of a phase (first call per phase counts).
  void mark(Phase phase);
  // The same with a time measured elsewhere (e.g. by libcurl), relative to the run's start.
  void mark(Phase phase, std::chrono::microseconds at);
  std::chrono::microseconds elapsed() const;
  // Reports the outcome; the first call wins, later ones and calls after cancel are ignored.
  void finish(Outcome outcome);

  template <class Self>
  std::shared_ptr<Self> self() {
    return std::static_pointer_cast<Self>(shared_from_this());
  }

  // Resolves `host` and continues with (self->*next)(first address). Handles
  // what every check does with the answer: nothing after cancel, the resolve
  // mark, and down("resolve_failed") when the name does not resolve.
  template <class Self>
  void resolve_then(const std::string& host, IpFamily family,
                    void (Self::*next)(const asio::ip::address&)) {
    env_.resolver().resolve(host, family,
                            [self = self<Self>(), next](Expected<HostResolver::Addresses> answer) {
                              if (self->take_resolved(answer)) ((*self).*next)(answer->front());
                            });
  }

  CheckRunEnv& env_;

 private:
  // True when the run should go on with the answer's first address.
  bool take_resolved(const Expected<HostResolver::Addresses>& answer);

  Completion completion_;
  PhaseTimings timings_;
  std::chrono::steady_clock::time_point started_;
  bool done_ = false;
};

class Check {
 public:
  virtual ~Check() = default;
  // What is being checked, for humans and the bus: "127.0.0.1:80", a URL, "ns@server".
  virtual std::string target() const = 0;
  virtual std::shared_ptr<CheckRun> make_run(CheckRunEnv& env) const = 0;
};

// "host:port" as a target, an IPv6 literal in brackets ("[::1]:443") so that
// its colons are not read as the port's.
inline std::string host_port_target(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// The Check of every type: a config shared by the runs it makes. The type
// provides `std::string target_of(const Config&)` (found by ADL) and a Run
// constructible as Run(env, std::shared_ptr<const Config>).
template <class Config, class Run>
class TypedCheck final : public Check {
 public:
  explicit TypedCheck(Config config) : config_(std::make_shared<const Config>(std::move(config))) {}
  explicit TypedCheck(std::shared_ptr<const Config> config) : config_(std::move(config)) {}

  std::string target() const override { return target_of(*config_); }
  std::shared_ptr<CheckRun> make_run(CheckRunEnv& env) const override {
    return std::make_shared<Run>(env, config_);
  }
  const Config& config() const { return *config_; }

 private:
  std::shared_ptr<const Config> config_;
};

using CheckPtr = std::shared_ptr<const Check>;
using ParseFn = Expected<CheckPtr> (*)(const CheckSpec& spec);

struct CheckType {
  std::string_view name;
  ParseFn parse;
};

}  // namespace netmon::checks
