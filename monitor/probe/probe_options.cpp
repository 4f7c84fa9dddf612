#include "monitor/probe/probe_options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "common/check_parser.hpp"
#include "common/duration.hpp"
#include "common/validate.hpp"

namespace netmon::probe {
namespace {

constexpr std::size_t kMaxIdLength = 64;

// A --check without interval= gets this, so one that has it can be told apart.
constexpr std::chrono::milliseconds kUnsetInterval = kMaxInterval;

constexpr const char* kDescription =
    "netmon-probe: one-shot network monitoring from the command line.\n"
    "\n"
    "Every round (every -i) it pings each HOST and connects to each -p PORT on it,\n"
    "and runs every --check and every check of a --checks file. A round's checks run\n"
    "concurrently; rounds start at a fixed rate. --timeout may be longer than -i: a\n"
    "check still running when the next round starts skips that round (counted as an\n"
    "overrun, never run twice at once) and runs again in the first round after it\n"
    "ends. Statistics per target, check type and port/check are printed every 10\n"
    "rounds and at the end.\n";

constexpr const char* kUsage =
    "Usage: netmon-probe [HOST...] [-t HOST...] [-p PORT...]\n"
    "                    [--check 'TYPE key=value ...']... [--checks FILE]...\n"
    "                    [-i INTERVAL] [-c COUNT] [--timeout T] [--no-ping]\n"
    "                    [-o FILE] [-v] [--local-time]\n";

// CLI11's help with our synopsis instead of its generic usage line.
class ProbeHelpFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App*, std::string) const override { return kUsage; }
};

constexpr const char* kFooter =
    "Examples:\n"
    "  netmon-probe google.com cloudflare.com -p 80 443 -i 2.5 -c 10 --timeout 5 -o results.json "
    "-v\n"
    "  netmon-probe -p 80 443 example.com -c 3\n"
    "  netmon-probe 127.0.0.1 -p 12345 --no-ping -c 3\n"
    "  netmon-probe --check 'dns server=127.0.0.1 port=15353 name=www.example.test record=A' \\\n"
    "               --check 'ntp server=127.0.0.1 port=11123' -c 3\n"
    "  netmon-probe --checks checks.yaml -i 500ms -c 4 -o results.json\n"
    "  netmon-probe --check 'http url=http://127.0.0.1:8080/health expect_status=200' -i 500ms "
    "-c 10\n"
    "\n"
    "Notes:\n"
    "  HOSTs go anywhere: before -p, after its ports (the first word after -p that is\n"
    "  not a port ends the list: -p 80 443 example.com), or after -t. Ports: -p 80 443,\n"
    "  -p 80,443, or -p once per port.\n"
    "  Check types: http, https, icmp, traceroute, dns, ntp, tcp, udp, tcp_echo, udp_echo;\n"
    "  their parameters are in docs/CONFIGURATION.md. A --check's id defaults to TYPE-N\n"
    "  (dns-1, dns-2, ...); set one with id=NAME.\n"
    "  Every check runs once per round (-i); a check's own interval is not used. A --check\n"
    "  without timeout= gets --timeout; a check file keeps its checks' timeouts.\n"
    "  Ctrl+C or SIGTERM ends the run: the final statistics are printed and -o is written.\n"
    "\n"
    "Exit status: 0 when the last result of every check was a success, 1 otherwise,\n"
    "2 for usage errors (bad flags, invalid checks).\n";

// What CLI11 fills in; validated into ProbeOptions afterwards.
struct RawArgs {
  std::vector<std::string> hosts;
  std::vector<std::string> targets;
  std::vector<std::string> ports;
  std::string interval;
  std::string count;
  std::string timeout;
  std::string output;
  std::vector<std::string> checks;
  std::vector<std::string> check_files;
  bool no_ping = false;
  bool verbose = false;
};

CommandExit usage_error(const std::string& problem) {
  return netmon::usage_error("netmon-probe", problem);
}

std::unique_ptr<CLI::App> make_app(RawArgs& raw) {
  auto app = std::make_unique<CLI::App>(kDescription, "netmon-probe");
  app->footer(kFooter);
  auto formatter = std::make_shared<ProbeHelpFormatter>();
  formatter->column_width(22);
  app->formatter(formatter);
  app->add_option("HOST", raw.hosts,
                  "Host names or IP addresses to ping and connect to (icmp + tcp checks)")
      ->type_name("");
  app->add_option("-t,--targets", raw.targets, "HOSTs to probe, as the positional HOST")
      ->type_name("HOST");
  // One value per -p here: split_port_lists turns `-p 80 443` into `-p 80 -p 443`.
  app->add_option("-p,--port", raw.ports,
                  "TCP ports to connect to on every HOST (1..65535); see Notes")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("PORT");
  app->add_option("-i,--interval", raw.interval,
                  "Round interval: seconds (2.5) or 500ms, 2s, 1m; 100ms..1d [default: 1s]")
      ->type_name("INTERVAL");
  app->add_option("-c,--count", raw.count, "Number of rounds; 0 or absent = until Ctrl+C")
      ->type_name("COUNT");
  app->add_option("--timeout", raw.timeout,
                  "Check timeout, 1ms..1d, may exceed -i [default: min(3s, 0.8 x interval)]")
      ->type_name("T");
  app->add_option("-o,--output", raw.output,
                  "Write session, statistics and every result as JSON (also on Ctrl+C)")
      ->type_name("FILE");
  app->add_flag("-v,--verbose", raw.verbose,
                "Print every result: time, round, check, target, status, latency, reason");
  app->add_flag("--no-ping", raw.no_ping, "Do not ping the HOSTs (tcp checks only)");
  app->add_option("--check", raw.checks,
                  "Run a check of any type: 'TYPE key=value ...' (repeatable)")
      ->allow_extra_args(false)
      ->type_name("CHECK");
  app->add_option("--checks", raw.check_files,
                  "Run the checks of a YAML or JSON check file (repeatable)")
      ->allow_extra_args(false)
      ->type_name("FILE");
  add_local_time_option(*app);
  return app;
}

Expected<std::uint16_t> parse_port(const std::string& text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 1 ||
      value > 65535) {
    return Error{"-p '" + text + "': a port is a number in 1..65535 (e.g. -p 80 443)"};
  }
  return static_cast<std::uint16_t>(value);
}

Expected<std::uint64_t> parse_count(const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return Error{"-c '" + text + "': the count is a whole number of rounds (0 = until Ctrl+C)"};
  }
  return value;
}

bool looks_like_ports(std::string_view word) {
  return !word.empty() && word.find_first_not_of("0123456789,") == std::string_view::npos;
}

// CLI11 gives a list option every word up to the next flag, which would read
// the host in `-p 80 443 example.com` (as the seed's users type it) as a
// port. So -p takes one value (the first word after it, whatever it is, so
// a bad one is reported as a port), and each following word made of digits
// and commas becomes another `-p WORD`; the first other word ends the list.
// The values of options that take one are copied untouched.
std::vector<std::string> split_port_lists(const std::vector<std::string>& args) {
  static const std::set<std::string, std::less<>> kTakesValue{
      "-i", "--interval", "-c", "--count", "--timeout", "-o", "--output", "--check", "--checks"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    out.push_back(word);
    if (word == "--") {
      out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (kTakesValue.contains(word)) {
      if (i + 1 < args.size()) out.push_back(args[++i]);
      continue;
    }
    const bool bare = word == "-p" || word == "--port";
    const bool joined = word.starts_with("--port=") || (word.starts_with("-p") && word.size() > 2);
    if (!bare && !joined) continue;
    if (bare && i + 1 < args.size()) out.push_back(args[++i]);
    while (i + 1 < args.size() && looks_like_ports(args[i + 1])) {
      out.push_back("-p");
      out.push_back(args[++i]);
    }
  }
  return out;
}

// Check ids allow letters, digits, '-', '_' and '.'; anything else in a host
// (the ':' of IPv6) becomes '_'.
std::string id_safe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) c = '_';
  }
  return out;
}

// "<prefix><host><suffix>", with the host shortened to fit 64 characters and
// a "-N" added if that id is already taken.
std::string host_check_id(const std::string& prefix, const std::string& host,
                          const std::string& suffix, const std::set<std::string>& taken) {
  std::string safe = id_safe(host);
  const std::size_t room = kMaxIdLength - 4 - prefix.size() - suffix.size();
  if (safe.size() > room) safe.resize(room);
  std::string id = prefix + safe + suffix;
  for (int n = 2; taken.contains(id); ++n)
    id = prefix + safe + suffix + "-" + std::to_string(n);
  return id;
}

Expected<void> add_check(ProbeOptions& options, std::set<std::string>& ids, const CheckSpec& spec,
                         std::string group, std::string label, std::optional<std::uint16_t> port) {
  if (!ids.insert(spec.id).second) {
    return Error{check_error_prefix(spec) + "id is used by another check (set id=NAME)"};
  }
  auto prepared = checks::prepare_check(spec);
  if (!prepared) return prepared.error();
  if (group.empty()) group = prepared->check->target();
  if (label.empty()) label = spec.id;
  options.checks.push_back(
      ProbeCheck{std::move(prepared).value(), std::move(group), std::move(label), port});
  return {};
}

Expected<void> add_host_checks(ProbeOptions& options, std::set<std::string>& ids) {
  for (const std::string& host : options.hosts) {
    if (!is_ip_literal(host) && !is_hostname(host)) {
      return Error{"HOST '" + host + "' is not a host name or IP address"};
    }
    CheckSpec base;
    base.interval = options.interval;
    base.timeout = options.timeout;
    if (options.ping) {
      CheckSpec spec = base;
      spec.type = "icmp";
      spec.id = host_check_id("icmp-", host, "", ids);
      spec.params = {{"host", host}, {"count", "1"}};
      if (auto added = add_check(options, ids, spec, host, "icmp", std::nullopt); !added) {
        return added;
      }
    }
    for (const std::uint16_t port : options.ports) {
      CheckSpec spec = base;
      spec.type = "tcp";
      spec.id = host_check_id("tcp-", host, "-" + std::to_string(port), ids);
      spec.params = {{"host", host}, {"port", std::to_string(port)}};
      if (auto added = add_check(options, ids, spec, host, "tcp/" + std::to_string(port), port);
          !added) {
        return added;
      }
    }
  }
  return {};
}

Expected<void> add_arg_checks(ProbeOptions& options, std::set<std::string>& ids,
                              const std::vector<std::string>& texts) {
  std::map<std::string, int, std::less<>> per_type;
  for (const std::string& text : texts) {
    // The default id needs the type: the first word.
    const std::size_t start = text.find_first_not_of(" \t\n");
    const std::string type = start == std::string::npos
                                 ? ""
                                 : text.substr(start, text.find_first_of(" \t\n", start) - start);
    const std::string default_id = id_safe(type) + "-" + std::to_string(++per_type[type]);
    CheckDefaults defaults;
    defaults.interval = kUnsetInterval;
    defaults.timeout = options.timeout;
    auto spec = check_from_args(text, defaults, default_id);
    if (!spec) return Error{"--check: " + spec.error().message};
    if (spec->interval != kUnsetInterval) {
      return Error{"--check: " + check_error_prefix(*spec) +
                   "interval is not a per-check setting here (every check runs once per round, "
                   "set by -i)"};
    }
    spec->interval = options.interval;
    if (auto added = add_check(options, ids, std::move(spec).value(), "", "", std::nullopt);
        !added) {
      return Error{"--check: " + added.error().message};
    }
  }
  return {};
}

Expected<void> add_file_checks(ProbeOptions& options, std::set<std::string>& ids,
                               const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    auto specs = load_checks_file(file);
    if (!specs) return Error{"--checks " + specs.error().message};
    for (CheckSpec& spec : *specs) {
      spec.interval = options.interval;
      if (auto added = add_check(options, ids, std::move(spec), "", "", std::nullopt); !added) {
        return Error{"--checks " + file + ": " + added.error().message};
      }
    }
  }
  return {};
}

// -o must be writable now, not after an hour of probing.
Expected<void> check_output_path(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{"-o '" + path + "' is a directory (give a file name)"};
  }
  const std::string probe_path = path + ".tmp." + std::to_string(::getpid());
  std::FILE* file = std::fopen(probe_path.c_str(), "w");
  if (!file) {
    return Error{"-o '" + path + "' cannot be written (" + std::strerror(errno) + ")"};
  }
  std::fclose(file);
  std::remove(probe_path.c_str());
  return {};
}

template <class T>
void dedupe(std::vector<T>& values) {
  std::vector<T> unique;
  for (T& value : values) {
    if (std::find(unique.begin(), unique.end(), value) == unique.end()) {
      unique.push_back(std::move(value));
    }
  }
  values = std::move(unique);
}

ParsedCommand<ProbeOptions> validate(RawArgs& raw) {
  ProbeOptions options;
  options.verbose = raw.verbose;
  options.ping = !raw.no_ping;
  options.hosts = raw.hosts;
  options.hosts.insert(options.hosts.end(), raw.targets.begin(), raw.targets.end());
  dedupe(options.hosts);

  if (options.hosts.empty() && raw.checks.empty() && raw.check_files.empty()) {
    return usage_error(
        "nothing to probe: give HOSTs, --check 'TYPE key=value ...' or --checks FILE");
  }
  for (const std::string& text : raw.ports) {
    auto port = parse_port(text);
    if (!port) return usage_error(port.error().message);
    options.ports.push_back(*port);
  }
  dedupe(options.ports);
  if (!options.ports.empty() && options.hosts.empty()) {
    return usage_error("-p needs at least one HOST to connect to");
  }
  if (!options.hosts.empty() && !options.ping && options.ports.empty()) {
    return usage_error("--no-ping without -p leaves nothing to check on the HOSTs");
  }

  if (!raw.interval.empty()) {
    auto interval = parse_duration(raw.interval);
    if (!interval) return usage_error("-i " + interval.error().message);
    if (*interval < kMinInterval || *interval > kMaxInterval) {
      return usage_error("-i " + raw.interval + ": the interval must be within 100ms..1d");
    }
    options.interval = *interval;
  }
  if (!raw.timeout.empty()) {
    auto timeout = parse_duration(raw.timeout);
    if (!timeout) return usage_error("--timeout " + timeout.error().message);
    if (*timeout <= std::chrono::milliseconds::zero() || *timeout > kMaxTimeout) {
      return usage_error("--timeout " + raw.timeout +
                         ": the timeout must be within 1ms..1d (it may be longer than -i)");
    }
    options.timeout = *timeout;
  } else {
    options.timeout = std::min(kMaxDefaultTimeout, options.interval * 4 / 5);
  }
  if (!raw.count.empty()) {
    auto count = parse_count(raw.count);
    if (!count) return usage_error(count.error().message);
    options.count = *count;
  }
  if (!raw.output.empty()) {
    if (auto writable = check_output_path(raw.output); !writable) {
      return usage_error(writable.error().message);
    }
    options.output_path = raw.output;
  }

  std::set<std::string> ids;
  if (auto ok = add_host_checks(options, ids); !ok) return usage_error(ok.error().message);
  if (auto ok = add_arg_checks(options, ids, raw.checks); !ok) {
    return usage_error(ok.error().message);
  }
  if (auto ok = add_file_checks(options, ids, raw.check_files); !ok) {
    return usage_error(ok.error().message);
  }
  if (options.checks.empty()) return usage_error("nothing to probe: the check files are empty");
  return options;
}

}  // namespace

ParsedCommand<ProbeOptions> parse_probe_args(int argc, const char* const* argv) {
  return parse_probe_args(std::vector<std::string>(argv + std::min(argc, 1), argv + argc));
}

ParsedCommand<ProbeOptions> parse_probe_args(const std::vector<std::string>& args) {
  const std::vector<std::string> split = split_port_lists(args);
  std::vector<const char*> argv{"netmon-probe"};
  for (const std::string& arg : split)
    argv.push_back(arg.c_str());
  RawArgs raw;
  const auto app = make_app(raw);
  if (auto stop = parse_command_line(*app, static_cast<int>(argv.size()), argv.data())) {
    return *stop;
  }
  return validate(raw);
}

}  // namespace netmon::probe
