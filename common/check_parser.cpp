#include "common/check_parser.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.hpp"
#include "common/text.hpp"

namespace netmon {
namespace {

Expected<std::chrono::milliseconds> duration_field(const CheckSpec& spec, std::string_view field,
                                                   std::string_view text) {
  auto parsed = parse_duration(text);
  if (!parsed) {
    return Error{check_error_prefix(spec) + std::string(field) + " " + parsed.error().message};
  }
  return parsed;
}

// `retries` as written, for a check and for `defaults`: a whole number (its
// range is checked with the other common fields).
Expected<int> parse_retries(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return Error{"retries '" + std::string(text) + "' is not a whole number (allowed: 1..100)"};
  }
  return value;
}

// Applies one key of a check. Common fields go to the struct, the rest to params.
Expected<void> apply_field(CheckSpec& spec, const std::string& key, ParamValue value) {
  const std::string* text = std::get_if<std::string>(&value);
  // Checks travel as UTF-8 (CONFIG, JSON): a byte that is not would arrive
  // escaped, so the monitor would run another check than the one written.
  if (!is_valid_utf8(key)) {
    return Error{check_error_prefix(spec) + "parameter name '" + loggable(key) +
                 "' is not valid UTF-8"};
  }
  const bool utf8 =
      text ? is_valid_utf8(*text)
           : std::ranges::all_of(std::get<std::vector<std::string>>(value),
                                 [](const std::string& item) { return is_valid_utf8(item); });
  if (!utf8) {
    return Error{check_error_prefix(spec) + key +
                 " is not valid UTF-8 text (save the file as UTF-8; write other payload bytes as "
                 "\\xHH)"};
  }
  const bool common =
      key == "id" || key == "type" || key == "interval" || key == "timeout" || key == "retries";
  if (common && !text) {
    return Error{check_error_prefix(spec) + key + " must be a single value, not a list"};
  }
  if (key == "id") {
    spec.id = *text;
  } else if (key == "type") {
    spec.type = *text;
  } else if (key == "interval" || key == "timeout") {
    auto parsed = duration_field(spec, key, *text);
    if (!parsed) return parsed.error();
    (key == "interval" ? spec.interval : spec.timeout) = *parsed;
  } else if (key == "retries") {
    auto parsed = parse_retries(*text);
    if (!parsed) return Error{check_error_prefix(spec) + parsed.error().message};
    spec.retries = *parsed;
  } else if (!spec.params.emplace(key, std::move(value)).second) {
    return Error{check_error_prefix(spec) + "parameter '" + key + "' given twice"};
  }
  return {};
}

Expected<ParamValue> param_from_yaml(const YAML::Node& node, const std::string& key) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return ParamValue(node.Scalar());
    case YAML::NodeType::Sequence: {
      std::vector<std::string> items;
      for (const auto& item : node) {
        if (!item.IsScalar()) return Error{"'" + key + "' must be a list of plain values"};
        items.push_back(item.Scalar());
      }
      return ParamValue(std::move(items));
    }
    case YAML::NodeType::Map: {  // e.g. headers: {Accept: text/html} -> "Accept: text/html"
      std::vector<std::string> items;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
          return Error{"'" + key + "' must map names to plain values"};
        }
        items.push_back(entry.first.Scalar() + ": " + entry.second.Scalar());
      }
      return ParamValue(std::move(items));
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return Error{"'" + key + "' has no value"};
}

// A timeout the user did not write follows a short interval down, so
// `interval: 1s` under `defaults: {timeout: 3s}` is valid (0.8 x interval).
void fit_default_timeout(CheckSpec& spec, const CheckDefaults& defaults) {
  spec.timeout = std::min(defaults.timeout, spec.interval * 4 / 5);
}

}  // namespace

std::string yaml_location(std::string_view source_name, const YAML::Node& node) {
  return std::string(source_name) + ":" + std::to_string(node.Mark().line + 1) + ": ";
}

Expected<void> defaults_from_yaml(const YAML::Node& node, CheckDefaults& defaults,
                                  std::string_view where) {
  if (!node.IsMap()) return Error{std::string(where) + "defaults must be a map"};
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>("");
    const std::string at = std::string(where);
    if (!entry.second.IsScalar()) return Error{at + "defaults." + key + " must be a plain value"};
    const std::string text = entry.second.Scalar();
    if (key == "interval" || key == "timeout") {
      auto parsed = parse_duration(text);
      if (!parsed) return Error{at + "defaults." + key + " " + parsed.error().message};
      (key == "interval" ? defaults.interval : defaults.timeout) = *parsed;
    } else if (key == "retries") {
      auto parsed = parse_retries(text);
      if (!parsed) return Error{at + "defaults." + parsed.error().message};
      if (*parsed < 1 || *parsed > kMaxRetries) {
        return Error{at + "defaults.retries " + std::to_string(*parsed) + " out of range 1..100"};
      }
      defaults.retries = *parsed;
    } else {
      return Error{at + "unknown key 'defaults." + key + "' (allowed: interval, timeout, retries)"};
    }
  }
  return {};
}

Expected<CheckSpec> check_from_yaml(const YAML::Node& node, const CheckDefaults& defaults,
                                    std::string_view where) {
  const std::string at(where);
  if (!node.IsMap()) return Error{at + "a check must be a map of key: value"};
  CheckSpec spec;
  spec.interval = defaults.interval;
  spec.timeout = defaults.timeout;
  spec.retries = defaults.retries;
  // id and type first, so every later error can name the check.
  if (const YAML::Node id = node["id"]; id && id.IsScalar()) spec.id = id.Scalar();
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) return Error{at + "check keys must be plain names"};
    const std::string key = entry.first.Scalar();
    auto value = param_from_yaml(entry.second, key);
    if (!value) return Error{at + check_error_prefix(spec) + value.error().message};
    if (auto applied = apply_field(spec, key, std::move(value).value()); !applied) {
      return Error{at + applied.error().message};
    }
  }
  if (!node["timeout"]) fit_default_timeout(spec, defaults);
  if (auto valid = validate_common_fields(spec); !valid) return Error{at + valid.error().message};
  return spec;
}

Expected<std::vector<CheckSpec>> checks_from_yaml_list(const YAML::Node& list,
                                                       const CheckDefaults& defaults,
                                                       std::string_view source_name,
                                                       const CheckHook& validate,
                                                       std::string_view duplicate_note) {
  std::vector<CheckSpec> specs;
  std::set<std::string, std::less<>> ids;
  for (const auto& node : list) {
    auto spec = check_from_yaml(node, defaults, yaml_location(source_name, node));
    if (!spec) return spec.error();
    if (validate) {
      if (auto valid = validate(node, *spec); !valid) return valid.error();
    }
    if (!ids.insert(spec->id).second) {
      const YAML::Node id = node["id"];
      return Error{yaml_location(source_name, id ? id : node) + check_error_prefix(*spec) +
                   "id is used by another check" + std::string(duplicate_note)};
    }
    specs.push_back(std::move(spec).value());
  }
  return specs;
}

Expected<std::vector<CheckSpec>> parse_checks_text(std::string_view text,
                                                   std::string_view source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error{std::string(source_name) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  CheckDefaults defaults;
  YAML::Node checks = root;
  if (root.IsMap()) {
    for (const auto& entry : root) {
      const std::string key = entry.first.as<std::string>("");
      if (key != "defaults" && key != "checks") {
        return Error{yaml_location(source_name, entry.first) + "unknown key '" + key +
                     "' (allowed: defaults, checks)"};
      }
    }
    if (root["defaults"]) {
      if (auto ok = defaults_from_yaml(root["defaults"], defaults,
                                       yaml_location(source_name, root["defaults"]));
          !ok) {
        return ok.error();
      }
    }
    checks = root["checks"];
    if (!checks) return Error{std::string(source_name) + ": no 'checks' list"};
  }
  if (!checks.IsSequence()) {
    return Error{std::string(source_name) +
                 ": expected a list of checks, or a map with 'defaults' and 'checks'"};
  }
  return checks_from_yaml_list(checks, defaults, source_name);
}

Expected<std::vector<CheckSpec>> load_checks_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Error{path + ": cannot open the check file"};
  std::ostringstream text;
  text << file.rdbuf();
  return parse_checks_text(text.str(), path);
}

Expected<CheckSpec> check_from_args(std::string_view text, const CheckDefaults& defaults,
                                    std::string_view default_id) {
  // Shell-like words: whitespace separates, '...' and "..." quote, \ escapes in "..." and bare.
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        word.push_back(c);
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  const std::string original(text);
  if (quote) return Error{"check '" + original + "': unclosed quote"};
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return Error{"empty check (use: TYPE key=value ...)"};

  CheckSpec spec;
  spec.type = words.front();
  spec.id = std::string(default_id);
  spec.interval = defaults.interval;
  spec.timeout = defaults.timeout;
  spec.retries = defaults.retries;
  ParamMap fields;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::size_t eq = words[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error{"check '" + original + "': '" + words[i] + "' is not key=value"};
    }
    const std::string key = words[i].substr(0, eq);
    std::string value = words[i].substr(eq + 1);
    auto [it, inserted] = fields.emplace(key, value);
    if (!inserted) {  // repeated key: a list
      if (auto* single = std::get_if<std::string>(&it->second)) {
        it->second = std::vector<std::string>{*single};
      }
      std::get<std::vector<std::string>>(it->second).push_back(std::move(value));
    }
  }
  if (auto it = fields.find("id"); it != fields.end()) {
    if (auto applied = apply_field(spec, "id", it->second); !applied) return applied.error();
    fields.erase(it);
  }
  const bool timeout_given = fields.contains("timeout");
  for (auto& [key, value] : fields) {
    if (auto applied = apply_field(spec, key, std::move(value)); !applied) return applied.error();
  }
  if (!timeout_given) fit_default_timeout(spec, defaults);
  if (auto valid = validate_common_fields(spec); !valid) return valid.error();
  return spec;
}

}  // namespace netmon
