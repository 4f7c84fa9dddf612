#pragma once
// Reads a check's type-specific parameters into typed values, once, at parse
// time. Every accessor validates; the first error is kept and reported by
// finish() with the check id, the field, the bad value and what is allowed.
// Keys nobody asked for are reported as unknown parameters.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_spec.hpp"
#include "common/validate.hpp"

namespace netmon {

class ParamReader {
 public:
  explicit ParamReader(const CheckSpec& spec) : spec_(spec) {}

  bool has(std::string_view key) const { return spec_.params.find(key) != spec_.params.end(); }

  // Free text; `fallback` when absent.
  std::string text(std::string_view key, std::string_view fallback = {});
  // Free text that must be present and non-empty.
  std::string required_text(std::string_view key);
  // Payload text with \r \n \t \0 \\ \xHH escapes decoded.
  std::string payload(std::string_view key, std::string_view fallback = {});
  // A host name or IP literal; required unless `fallback` is given.
  std::string host(std::string_view key, std::optional<std::string_view> fallback = {});
  std::uint16_t port(std::string_view key, std::optional<std::uint16_t> fallback = {});
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max,
                       std::optional<std::int64_t> fallback = {});
  double number(std::string_view key, double min, double max, std::optional<double> fallback = {});
  bool flag(std::string_view key, bool fallback);
  std::string choice(std::string_view key, std::initializer_list<std::string_view> allowed,
                     std::string_view fallback);
  std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds fallback);
  UrlParts url(std::string_view key);
  // A list; a scalar counts as a comma-separated list. Empty when absent.
  std::vector<std::string> list(std::string_view key);

  // Reports a type-specific rule: `check 'ID': <field> <message>`.
  void fail(std::string_view field, std::string_view message);
  bool failed() const { return error_.has_value(); }

  // The first error, else an unknown-parameter error, else success.
  Expected<void> finish() const;

 private:
  // The scalar under `key` (marking it known), or nullptr when absent; a list is an error.
  const std::string* scalar(std::string_view key);
  std::string quoted(std::string_view key, std::string_view value) const;

  const CheckSpec& spec_;
  std::set<std::string, std::less<>> known_;
  std::optional<std::string> error_;
};

}  // namespace netmon
