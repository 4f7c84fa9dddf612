#pragma once
// A check as the user wrote it: common fields plus the type's parameters, kept
// as text until the check type validates them (monitor/checks/*). The same
// names are used in config files, on the command line and on the wire.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "common/expected.hpp"

namespace netmon {

// A parameter is a scalar (kept as its text) or a list of scalars.
using ParamValue = std::variant<std::string, std::vector<std::string>>;
using ParamMap = std::map<std::string, ParamValue, std::less<>>;

inline constexpr std::chrono::milliseconds kMinInterval{100};
inline constexpr std::chrono::milliseconds kMaxInterval{86'400'000};
inline constexpr std::chrono::milliseconds kMaxTimeout = kMaxInterval;
inline constexpr int kMaxRetries = 100;

struct CheckDefaults {
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds timeout{3'000};
  int retries = 2;
};

struct CheckSpec {
  std::string id;
  std::string type;
  std::chrono::milliseconds interval{CheckDefaults{}.interval};
  std::chrono::milliseconds timeout{CheckDefaults{}.timeout};
  int retries = CheckDefaults{}.retries;  // consecutive failures before DOWN
  ParamMap params;

  bool operator==(const CheckSpec&) const = default;
};

// Validates the fields every check has (id, interval, timeout, retries).
// The type's own parameters are validated by its check type.
Expected<void> validate_common_fields(const CheckSpec& spec);

// `check 'ID': ` – the prefix every check error starts with.
std::string check_error_prefix(const CheckSpec& spec);

}  // namespace netmon
