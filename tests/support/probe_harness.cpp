#include "tests/support/probe_harness.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "common/logging.hpp"
#include "monitor/checks/check_registry.hpp"

namespace netmon::testing {

CheckSpec make_spec(std::string type, ParamMap params, std::chrono::milliseconds timeout) {
  CheckSpec spec;
  spec.id = "t";
  spec.type = std::move(type);
  spec.interval = std::chrono::seconds(10);
  spec.timeout = timeout;
  spec.params = std::move(params);
  return spec;
}

ProbeHarness::ProbeHarness() : env_(io_, component_logger("test")), runner_(env_) {}

ProbeHarness::~ProbeHarness() = default;

CheckResult ProbeHarness::run(const CheckSpec& spec, std::chrono::milliseconds deadline) {
  auto prepared = checks::prepare_check(spec);
  if (!prepared) {
    ADD_FAILURE() << "invalid spec: " << prepared.error().message;
    return {};
  }
  std::optional<CheckResult> result;
  runner_.run(*prepared, [&](CheckResult r) { result = std::move(r); });
  if (!run_until([&] { return result.has_value(); }, deadline)) {
    ADD_FAILURE() << "no result within " << deadline.count() << " ms";
    return {};
  }
  return *result;
}

}  // namespace netmon::testing
