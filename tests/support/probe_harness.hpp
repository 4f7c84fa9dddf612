#pragma once
// Runs single checks to completion on a private loop, for check tests.
// Loopback servers the test needs can live on the same loop (harness.io()).

#include <asio/io_context.hpp>
#include <chrono>
#include <string>

#include "common/check_result.hpp"
#include "common/check_spec.hpp"
#include "monitor/checks/check_run_env.hpp"
#include "monitor/checks/check_runner.hpp"

namespace netmon::testing {

// A spec of `type` with the given parameters, id "t", interval 10s, timeout 2s.
CheckSpec make_spec(std::string type, ParamMap params,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2));

class ProbeHarness {
 public:
  ProbeHarness();
  ~ProbeHarness();

  asio::io_context& io() { return io_; }
  checks::CheckRunEnv& env() { return env_; }

  // Validates `spec` (failing the test if it is invalid), runs it once and
  // returns its result. Fails the test if no result arrives within `deadline`.
  CheckResult run(const CheckSpec& spec,
                  std::chrono::milliseconds deadline = std::chrono::seconds(10));

  // Runs the loop until `done()` is true or `deadline` passes; returns done().
  template <class Predicate>
  bool run_until(Predicate done, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    io_.restart();
    while (!done() && std::chrono::steady_clock::now() < end) {
      io_.run_one_for(std::chrono::milliseconds(50));
      io_.restart();
    }
    return done();
  }

 private:
  asio::io_context io_;
  checks::CheckRunEnv env_;
  checks::CheckRunner runner_;
};

}  // namespace netmon::testing
