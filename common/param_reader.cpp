#include "common/param_reader.hpp"

#include <charconv>
#include <cmath>

#include "common/duration.hpp"

namespace netmon {
namespace {

std::string join(const std::set<std::string, std::less<>>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

void ParamReader::fail(std::string_view field, std::string_view message) {
  if (error_) return;
  error_ = check_error_prefix(spec_) + std::string(field) + (field.empty() ? "" : " ") +
           std::string(message);
}

std::string ParamReader::quoted(std::string_view key, std::string_view value) const {
  return std::string(key) + " '" + std::string(value) + "'";
}

const std::string* ParamReader::scalar(std::string_view key) {
  known_.emplace(key);
  const auto it = spec_.params.find(key);
  if (it == spec_.params.end()) return nullptr;
  if (const auto* text = std::get_if<std::string>(&it->second)) return text;
  fail(key, "must be a single value, not a list");
  return nullptr;
}

std::string ParamReader::text(std::string_view key, std::string_view fallback) {
  const std::string* value = scalar(key);
  return value ? *value : std::string(fallback);
}

std::string ParamReader::required_text(std::string_view key) {
  const std::string* value = scalar(key);
  if (!value || value->empty()) {
    if (!has(key) || value) fail(key, "is required");
    return {};
  }
  return *value;
}

std::string ParamReader::payload(std::string_view key, std::string_view fallback) {
  const std::string* value = scalar(key);
  if (!value) return std::string(fallback);
  auto decoded = decode_escapes(*value);
  if (!decoded) {
    fail(key, decoded.error().message);
    return {};
  }
  return std::move(decoded).value();
}

std::string ParamReader::host(std::string_view key, std::optional<std::string_view> fallback) {
  const std::string* value = scalar(key);
  if (!value) {
    if (fallback) return std::string(*fallback);
    if (!has(key)) fail(key, "is required (a host name or IP address)");
    return {};
  }
  if (!is_ip_literal(*value) && !is_hostname(*value)) {
    fail(quoted(key, *value), "is not a valid host name or IP address");
    return {};
  }
  return *value;
}

std::int64_t ParamReader::integer(std::string_view key, std::int64_t min, std::int64_t max,
                                  std::optional<std::int64_t> fallback) {
  const std::string* value = scalar(key);
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  if (!value) {
    if (fallback) return *fallback;
    if (!has(key)) fail(key, "is required (" + range + ")");
    return min;
  }
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (ec != std::errc{} || end != value->data() + value->size()) {
    fail(quoted(key, *value), "is not a whole number (allowed: " + range + ")");
    return min;
  }
  if (number < min || number > max) {
    fail(std::string(key) + " " + *value, "out of range " + range);
    return min;
  }
  return number;
}

std::uint16_t ParamReader::port(std::string_view key, std::optional<std::uint16_t> fallback) {
  return static_cast<std::uint16_t>(integer(key, 1, 65535, fallback));
}

double ParamReader::number(std::string_view key, double min, double max,
                           std::optional<double> fallback) {
  const std::string* value = scalar(key);
  const std::string range = trim(std::to_string(min)) + ".." + trim(std::to_string(max));
  if (!value) {
    if (fallback) return *fallback;
    if (!has(key)) fail(key, "is required");
    return min;
  }
  double number = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (ec != std::errc{} || end != value->data() + value->size() || !std::isfinite(number)) {
    fail(quoted(key, *value), "is not a number");
    return min;
  }
  if (number < min || number > max) {
    fail(std::string(key) + " " + *value, "out of range");
    return min;
  }
  return number;
}

bool ParamReader::flag(std::string_view key, bool fallback) {
  const std::string* value = scalar(key);
  if (!value) return fallback;
  if (*value == "true" || *value == "yes" || *value == "on" || *value == "1") return true;
  if (*value == "false" || *value == "no" || *value == "off" || *value == "0") return false;
  fail(quoted(key, *value), "is not a boolean (allowed: true, false)");
  return fallback;
}

std::string ParamReader::choice(std::string_view key,
                                std::initializer_list<std::string_view> allowed,
                                std::string_view fallback) {
  const std::string* value = scalar(key);
  if (!value) return std::string(fallback);
  std::string names;
  for (const std::string_view name : allowed) {
    if (name == *value) return *value;
    if (!names.empty()) names += ", ";
    names += name;
  }
  fail(quoted(key, *value), "is not allowed (allowed: " + names + ")");
  return std::string(fallback);
}

std::chrono::milliseconds ParamReader::duration(std::string_view key,
                                                std::chrono::milliseconds fallback) {
  const std::string* value = scalar(key);
  if (!value) return fallback;
  auto parsed = parse_duration(*value);
  if (!parsed) {
    fail(key, parsed.error().message);
    return fallback;
  }
  return *parsed;
}

UrlParts ParamReader::url(std::string_view key) {
  const std::string* value = scalar(key);
  if (!value) {
    if (!has(key)) fail(key, "is required (an http:// or https:// URL)");
    return {};
  }
  auto parsed = parse_url(*value);
  if (!parsed) {
    fail("", parsed.error().message);
    return {};
  }
  return std::move(parsed).value();
}

std::vector<std::string> ParamReader::list(std::string_view key) {
  known_.emplace(key);
  const auto it = spec_.params.find(key);
  if (it == spec_.params.end()) return {};
  if (const auto* items = std::get_if<std::vector<std::string>>(&it->second)) return *items;
  std::vector<std::string> items;
  const std::string& text = std::get<std::string>(it->second);
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (std::string item = trim(std::string_view(text).substr(start, comma - start));
        !item.empty()) {
      items.push_back(std::move(item));
    }
    start = comma + 1;
  }
  return items;
}

Expected<void> ParamReader::finish() const {
  if (error_) return Error{*error_};
  for (const auto& [key, value] : spec_.params) {
    if (!known_.contains(key)) {
      return Error{check_error_prefix(spec_) + "unknown parameter '" + key + "' for type '" +
                   spec_.type + "' (allowed: " + join(known_) + ")"};
    }
  }
  return {};
}

}  // namespace netmon
