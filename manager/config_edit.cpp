#include "manager/config_edit.hpp"

#include <algorithm>
#include <set>

#include "common/check_parser.hpp"
#include "common/duration.hpp"
#include "common/protocol/monitor_name.hpp"
#include "monitor/checks/params/check_params.hpp"

namespace netmon::manager {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<CheckSpec>& checks) {
  std::vector<std::string> ids;
  ids.reserve(checks.size());
  for (const CheckSpec& spec : checks)
    ids.push_back(spec.id);
  return ids;
}

// One word as check_from_args splits it again: the client already split the
// line, so a word with blanks or quotes in it is quoted back ('...', and a
// ' itself as "'").
std::string quoted_word(const std::string& word) {
  if (!word.empty() && word.find_first_of(" \t\n'\"") == std::string::npos) return word;
  std::string out = "'";
  for (const char c : word) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string words_text(std::span<const std::string> words) {
  std::string text;
  for (const std::string& word : words) {
    if (!text.empty()) text += ' ';
    text += quoted_word(word);
  }
  return text;
}

std::string type_names() {
  std::string names;
  for (const checks::CheckParamsType& type : checks::check_params_types()) {
    if (!names.empty()) names += ", ";
    names += type.name;
  }
  return names;
}

// TYPE-N with the first N >= 1 no check of `checks` has.
std::string free_id(const std::vector<CheckSpec>& checks, std::string_view type) {
  for (int n = 1;; ++n) {
    std::string id = std::string(type) + "-" + std::to_string(n);
    if (std::none_of(checks.begin(), checks.end(),
                     [&](const CheckSpec& spec) { return spec.id == id; })) {
      return id;
    }
  }
}

// The timeout a check gets when it does not write one (check_parser.cpp).
std::chrono::milliseconds fitted_timeout(const CheckDefaults& defaults,
                                         std::chrono::milliseconds interval) {
  return std::min(defaults.timeout, interval * 4 / 5);
}

std::vector<CheckSpec>::iterator find_spec(std::vector<CheckSpec>& checks, std::string_view id) {
  return std::find_if(checks.begin(), checks.end(),
                      [&](const CheckSpec& spec) { return spec.id == id; });
}

// The URL addconf makes of TARGET [PORT] for http/https: TARGET as given when
// it is a URL, else TYPE://HOST[:PORT]/PATH with an IPv6 literal bracketed.
Expected<std::string> positional_url(std::string_view type, const std::string& target,
                                     const std::string* port) {
  if (target.find("://") != std::string::npos) {
    if (port) {
      return Error{"addconf: '" + target + "' is a URL: write the port in it (" +
                   std::string(type) + "://HOST:" + *port + "/) instead of after it"};
    }
    return target;
  }
  const std::size_t slash = target.find('/');
  std::string host = target.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : target.substr(slash);
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return std::string(type) + "://" + host + (port ? ":" + *port : "") + path;
}

// `name=...` with a parameter-like name: a URL with a query (`http://h/?a=b`)
// is a TARGET, not a key=value word.
bool is_key_value(const std::string& word) {
  const std::size_t eq = word.find('=');
  return eq != std::string::npos && eq > 0 &&
         std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(eq), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_';
         });
}

}  // namespace

Expected<CheckRef> parse_check_ref(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) {
    return Error{"'" + std::string(text) + "' is not MONITOR/CHECK (e.g. edge-1/web)"};
  }
  return CheckRef{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

Expected<void> require_monitor(const ManagerConfig& config, std::string_view monitor) {
  if (config.monitors.contains(monitor)) return {};
  std::vector<std::string> names;
  for (const auto& [name, checks] : config.monitors)
    names.push_back(name);
  const std::string known = names.empty() ? "no monitors yet" : "known: " + join(names);
  return Error{"unknown monitor '" + std::string(monitor) + "' (" + known +
               "; add it with `monitor-add " + std::string(monitor) + "`)"};
}

Expected<void> require_check(const ManagerConfig& config, const CheckRef& ref) {
  if (auto known = require_monitor(config, ref.monitor); !known) return known;
  const std::vector<CheckSpec>& checks = config.monitors.find(ref.monitor)->second;
  if (std::any_of(checks.begin(), checks.end(),
                  [&](const CheckSpec& spec) { return spec.id == ref.check; })) {
    return {};
  }
  const std::string has = checks.empty() ? ref.monitor + " has no checks"
                                         : ref.monitor + " has: " + join(ids_of(checks));
  return Error{"unknown check '" + ref.monitor + "/" + ref.check + "' (" + has + ")"};
}

Expected<ConfigEdit> add_check(const ManagerConfig& config, std::string_view monitor,
                               std::span<const std::string> words) {
  if (auto known = require_monitor(config, monitor); !known) return known.error();
  if (words.empty()) {
    return Error{"add: no check type (use: add " + std::string(monitor) +
                 " TYPE key=value ...; types: " + type_names() + ")"};
  }
  ConfigEdit edit{config, std::string(monitor), {}};
  std::vector<CheckSpec>& checks = edit.config.monitors.find(monitor)->second;
  const std::string default_id = free_id(checks, words.front());
  auto spec = check_from_args(words_text(words), defaults_of(config, monitor), default_id);
  if (!spec) return spec.error();
  if (auto valid = checks::validate_check(*spec); !valid) return valid.error();
  if (find_spec(checks, spec->id) != checks.end()) {
    return Error{check_error_prefix(*spec) + "id is used by another check of monitor '" +
                 edit.monitor + "' (ids must be unique: give another id=, or leave it out for " +
                 default_id + ")"};
  }
  edit.check = spec->id;
  checks.push_back(std::move(spec).value());
  return edit;
}

Expected<ConfigEdit> add_check_positional(const ManagerConfig& config, std::string_view monitor,
                                          std::span<const std::string> words) {
  const auto after_type = words.empty() ? words : words.subspan(1);
  if (std::any_of(after_type.begin(), after_type.end(), is_key_value)) {
    return add_check(config, monitor, words);
  }
  if (auto known = require_monitor(config, monitor); !known) return known.error();
  if (words.size() != 3 && words.size() != 4) {
    return Error{"addconf takes TYPE TARGET [PORT] INTERVAL (e.g. addconf " + std::string(monitor) +
                 " tcp example.com 443 5), or TYPE key=value ... as add"};
  }
  const std::string& type = words[0];
  const std::string& target = words[1];
  const std::string* port = words.size() == 4 ? &words[2] : nullptr;
  std::vector<std::string> keyed{type};
  if (type == "tcp" || type == "udp" || type == "tcp_echo" || type == "udp_echo") {
    keyed.push_back("host=" + target);
    if (port) keyed.push_back("port=" + *port);
  } else if (type == "icmp" || type == "traceroute") {
    if (port) {
      return Error{"addconf: " + type + " has no port (use: addconf " + std::string(monitor) + " " +
                   type + " HOST INTERVAL)"};
    }
    keyed.push_back("host=" + target);
  } else if (type == "ntp") {
    keyed.push_back("server=" + target);
    if (port) keyed.push_back("port=" + *port);
  } else if (type == "http" || type == "https") {
    auto url = positional_url(type, target, port);
    if (!url) return url.error();
    keyed.push_back("url=" + *url);
  } else if (type == "dns") {
    return Error{"addconf: dns needs a server and a name, more than TARGET can say (use: add " +
                 std::string(monitor) + " dns server=SERVER name=NAME)"};
  } else {
    return add_check(config, monitor, keyed);  // the parser names the known types
  }
  keyed.push_back("interval=" + words.back());
  return add_check(config, monitor, keyed);
}

Expected<ConfigEdit> set_check(const ManagerConfig& config, std::string_view ref,
                               std::span<const std::string> words) {
  auto parsed_ref = parse_check_ref(ref);
  if (!parsed_ref) return parsed_ref.error();
  if (auto known = require_check(config, *parsed_ref); !known) return known.error();
  if (words.empty()) {
    return Error{"set " + std::string(ref) +
                 " needs key=value words (e.g. interval=30s; key= with no value resets it)"};
  }
  ConfigEdit edit{config, parsed_ref->monitor, parsed_ref->check};
  std::vector<CheckSpec>& checks = edit.config.monitors.find(edit.monitor)->second;
  CheckSpec& spec = *find_spec(checks, edit.check);
  const CheckDefaults& defaults = defaults_of(config, edit.monitor);
  const std::string prefix = check_error_prefix(spec);

  // Which keys the words give a value, and which they reset (`key=` alone).
  std::multiset<std::string, std::less<>> given;
  for (const std::string& word : words) {
    const std::size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error{prefix + "'" + word + "' is not key=value (e.g. interval=30s)"};
    }
    const std::string key = word.substr(0, eq);
    if (key == "id" || key == "type") {
      return Error{prefix + key + " cannot be changed by set (del " + std::string(ref) +
                   " and add the check again)"};
    }
    given.insert(key);
  }
  std::set<std::string, std::less<>> reset;
  for (const std::string& word : words) {
    const std::string key = word.substr(0, word.find('='));
    if (word.size() == key.size() + 1 && given.count(key) == 1) reset.insert(key);
  }
  for (const std::string& key : reset) {
    const bool common = key == "interval" || key == "timeout" || key == "retries";
    if (!common && !spec.params.contains(key)) {
      std::vector<std::string> names;
      for (const auto& [name, value] : spec.params)
        names.push_back(name);
      return Error{prefix + key + " is not set, so there is nothing to reset (set: " + join(names) +
                   ")"};
    }
  }
  // Every key=value is read by the parser, with the check's fields that the
  // words leave alone written before them, so the common fields are checked
  // together as they will be. A timeout taken from the defaults is left out,
  // so the parser fits it to a new interval as it does in the file.
  std::vector<std::string> text{spec.type};
  if (!given.contains("interval")) text.push_back("interval=" + format_duration(spec.interval));
  if (!given.contains("timeout") && spec.timeout != fitted_timeout(defaults, spec.interval)) {
    text.push_back("timeout=" + format_duration(spec.timeout));
  }
  if (!given.contains("retries")) text.push_back("retries=" + std::to_string(spec.retries));
  for (const std::string& word : words) {
    if (!reset.contains(word.substr(0, word.find('=')))) text.push_back(word);
  }
  auto changed = check_from_args(words_text(text), defaults, spec.id);
  if (!changed) return changed.error();
  ParamMap params = spec.params;
  std::erase_if(params, [&](const auto& entry) { return given.contains(entry.first); });
  params.merge(changed->params);
  changed->params = std::move(params);
  if (auto valid = checks::validate_check(*changed); !valid) return valid.error();
  spec = std::move(changed).value();
  return edit;
}

Expected<ConfigEdit> delete_check(const ManagerConfig& config, std::string_view ref) {
  auto parsed_ref = parse_check_ref(ref);
  if (!parsed_ref) return parsed_ref.error();
  return delete_check(config, parsed_ref->monitor, parsed_ref->check);
}

Expected<ConfigEdit> delete_check(const ManagerConfig& config, std::string_view monitor,
                                  std::string_view check) {
  if (auto known = require_check(config, CheckRef{std::string(monitor), std::string(check)});
      !known) {
    return known.error();
  }
  ConfigEdit edit{config, std::string(monitor), std::string(check)};
  std::vector<CheckSpec>& checks = edit.config.monitors.find(monitor)->second;
  checks.erase(find_spec(checks, check));
  return edit;
}

Expected<ConfigEdit> add_monitor(const ManagerConfig& config, std::string_view name) {
  if (auto valid = protocol::check_monitor_name(name); !valid) return valid.error();
  if (const auto it = config.monitors.find(name); it != config.monitors.end()) {
    return Error{"monitor '" + std::string(name) + "' already exists (with " +
                 std::to_string(it->second.size()) + " checks; `checks " + std::string(name) +
                 "` lists them)"};
  }
  ConfigEdit edit{config, std::string(name), {}};
  edit.config.monitors.emplace(name, std::vector<CheckSpec>{});
  return edit;
}

Expected<ConfigEdit> delete_monitor(const ManagerConfig& config, std::string_view name) {
  if (auto known = require_monitor(config, name); !known) return known.error();
  const std::vector<CheckSpec>& checks = config.monitors.find(name)->second;
  if (!checks.empty()) {
    return Error{"monitor '" + std::string(name) + "' still has " + std::to_string(checks.size()) +
                 (checks.size() == 1 ? " check (" : " checks (") + join(ids_of(checks)) +
                 "): del them first (del " + std::string(name) + "/" + checks.front().id + ")"};
  }
  ConfigEdit edit{config, std::string(name), {}};
  edit.config.monitors.erase(edit.config.monitors.find(name));
  if (const auto own = edit.config.monitor_defaults.find(name);
      own != edit.config.monitor_defaults.end()) {
    edit.config.monitor_defaults.erase(own);
  }
  return edit;
}

std::vector<MonitorChanges> describe_changes(const ManagerConfig& before,
                                             const ManagerConfig& after) {
  std::set<std::string, std::less<>> names;
  for (const auto& [name, checks] : before.monitors)
    names.insert(name);
  for (const auto& [name, checks] : after.monitors)
    names.insert(name);
  static const std::vector<CheckSpec> kNone;
  std::vector<MonitorChanges> out;
  for (const std::string& name : names) {
    const auto old_it = before.monitors.find(name);
    const auto new_it = after.monitors.find(name);
    const std::vector<CheckSpec>& old_checks =
        old_it == before.monitors.end() ? kNone : old_it->second;
    const std::vector<CheckSpec>& new_checks =
        new_it == after.monitors.end() ? kNone : new_it->second;
    MonitorChanges changes;
    changes.monitor = name;
    changes.monitor_added = old_it == before.monitors.end();
    changes.monitor_removed = new_it == after.monitors.end();
    for (const CheckSpec& spec : new_checks) {
      const auto old = std::find_if(old_checks.begin(), old_checks.end(),
                                    [&](const CheckSpec& o) { return o.id == spec.id; });
      if (old == old_checks.end()) {
        changes.added.push_back(spec.id);
      } else if (!(*old == spec)) {
        changes.changed.push_back(spec.id);
      }
    }
    for (const CheckSpec& spec : old_checks) {
      if (std::none_of(new_checks.begin(), new_checks.end(),
                       [&](const CheckSpec& n) { return n.id == spec.id; })) {
        changes.removed.push_back(spec.id);
      }
    }
    if (changes.monitor_added || changes.monitor_removed || !changes.added.empty() ||
        !changes.removed.empty() || !changes.changed.empty()) {
      out.push_back(std::move(changes));
    }
  }
  return out;
}

}  // namespace netmon::manager
