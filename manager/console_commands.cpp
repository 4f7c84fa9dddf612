#include "manager/console_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/check_result.hpp"
#include "common/text.hpp"
#include "manager/config_edit.hpp"
#include "manager/result_export.hpp"
#include "manager/result_store.hpp"
#include "manager/store_queries.hpp"
#include "monitor/checks/params/check_params.hpp"

namespace netmon::manager {
namespace {

namespace ctl = protocol::ctl;
using json = nlohmann::json;

// Queries waiting for the worker beyond this are refused (busy): a client
// that loops on `stats` cannot queue work without bound.
constexpr std::size_t kMaxQueuedQueries = 16;
// Changes waiting for their CONFIG_ACK beyond this are refused (busy).
constexpr std::size_t kMaxPendingChanges = 64;
constexpr std::size_t kMaxEvents = 1000;
constexpr std::size_t kMaxCandidates = 200;

// A document echoes what the client sent (a word being completed, a name it
// gave); strict dump() throws type_error.316 on invalid UTF-8 in it, which
// turned a request of one bad byte into an exception. Replace never throws.
ctl::Reply ok(std::string message, const json& data = json()) {
  return {
      0, true, "", std::move(message),
      data.is_null() ? std::string() : data.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// Every reply's texts are valid UTF-8 whatever the request echoed into them
// (a name with a stray byte, a command cut at 64 bytes mid-character).
ctl::Reply readable(ctl::Reply reply) {
  if (!is_valid_utf8(reply.code)) reply.code = to_valid_utf8(reply.code);
  if (!is_valid_utf8(reply.message)) reply.message = to_valid_utf8(reply.message);
  if (!is_valid_utf8(reply.data)) reply.data = to_valid_utf8(reply.data);
  return reply;
}

ctl::Reply fail(std::string code, std::string message) {
  return {0, false, std::move(code), std::move(message), ""};
}

ctl::Reply fail(const ConsoleFailure& failure) {
  return fail(failure.code, failure.message);
}

ctl::Reply usage(std::string_view syntax, const std::string& problem) {
  return fail("usage", problem + " (usage: " + std::string(syntax) + ")");
}

// The console's documents are UTC whatever --local-time says (PROTOCOL.md §12).
std::string utc_timestamp(WallTime time) {
  return format_timestamp(time, TimeZone::kUtc);
}

json time_or_null(WallTime time) {
  if (time == WallTime{}) return nullptr;
  return utc_timestamp(time);
}

json monitor_json(const MonitorStatus& m) {
  return {{"name", m.name},
          {"id", m.id},
          {"state", m.state},
          {"peer", m.peer},
          {"since", time_or_null(m.since)},
          {"last_heard", time_or_null(m.last_heard)},
          {"config_version", m.config_version},
          {"acked_config_version", m.acked_config_version},
          {"checks", m.checks},
          {"results_stored", m.results_stored},
          {"outbox_backlog", m.backlog ? json(*m.backlog) : json(nullptr)},
          {"epoch", m.epoch},
          {"clock_ahead_ms", m.clock_ahead_ms},
          {"outbox_error", m.outbox_error}};
}

json params_json(const ParamMap& params) {
  json object = json::object();
  for (const auto& [name, value] : params) {
    if (const auto* text = std::get_if<std::string>(&value)) {
      object[name] = *text;
    } else {
      object[name] = std::get<std::vector<std::string>>(value);
    }
  }
  return object;
}

json check_json(const CheckStatus& c) {
  json object = {{"monitor", c.monitor},
                 {"id", c.check},
                 {"type", c.spec.type},
                 {"interval_ms", c.spec.interval.count()},
                 {"timeout_ms", c.spec.timeout.count()},
                 {"retries", c.spec.retries},
                 {"params", params_json(c.spec.params)},
                 {"state", c.state},
                 {"last_state", c.last_state},
                 {"stale", c.state == "STALE"},
                 {"down_since", time_or_null(c.down_since)},
                 {"last_result", nullptr},
                 {"last_status", nullptr},
                 {"last_latency_ms", nullptr},
                 {"reason", ""},
                 {"error", ""}};
  if (c.last) {
    object["last_result"] = utc_timestamp(c.last->time);
    object["last_status"] = c.last->status;
    object["last_latency_ms"] = c.last->latency_ms ? json(*c.last->latency_ms) : json(nullptr);
    object["reason"] = c.last->reason;
    object["error"] = c.last->error;
  }
  return object;
}

// A new, empty file beside `file` for an export to be written into:
// FILE.partial-NNNNNN, created exclusively (never an existing file, never
// through a symlink), mode 0666 less the umask as the export itself will be.
Expected<std::filesystem::path> create_partial(const std::filesystem::path& file) {
  static std::atomic<std::uint64_t> counter{0};
  for (int attempt = 0; attempt < 16; ++attempt) {
    const std::filesystem::path partial = file.string() + ".partial-" + std::to_string(::getpid()) +
                                          "-" + std::to_string(counter.fetch_add(1));
    const int fd =
        ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd >= 0) {
      ::close(fd);
      return partial;
    }
    if (errno != EEXIST) {
      return Error{"cannot write " + partial.string() + ": " + std::strerror(errno)};
    }
  }
  return Error{"cannot write beside " + file.string() + ": every partial name is taken"};
}

// "edge-1/web" -> {"edge-1", "web"}; nullopt unless both parts are there.
std::optional<std::pair<std::string, std::string>> split_check_path(std::string_view path) {
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size()) {
    return std::nullopt;
  }
  return std::pair{std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

// `[--since DUR] [MONITOR[/CHECK]]` of events and stats.
struct QueryArgs {
  StoreFilter filter;
};

std::variant<QueryArgs, std::string> parse_query_args(const std::vector<std::string>& args) {
  QueryArgs parsed;
  bool have_target = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--since") {
      if (i + 1 == args.size())
        return std::string("--since needs a value (90s, 1h, 2d or RFC 3339)");
      auto since = parse_export_time("--since", args[++i], std::chrono::system_clock::now());
      if (!since) return since.error().message;
      parsed.filter.since = *since;
    } else if (arg.starts_with("-")) {
      return "unknown option " + arg;
    } else if (have_target) {
      return "one MONITOR[/CHECK] at most (got " + arg + ")";
    } else {
      have_target = true;
      if (auto path = split_check_path(arg)) {
        parsed.filter.monitor = path->first;
        parsed.filter.check = path->second;
      } else {
        parsed.filter.monitor = arg;
      }
    }
  }
  return parsed;
}

std::string plural(std::size_t count, std::string_view one, std::string_view many) {
  return std::to_string(count) + " " + std::string(count == 1 ? one : many);
}

}  // namespace

// What completes at an argument position.
enum class ArgKind {
  kNone,
  kCommand,       // help's argument
  kMonitor,       // a configured monitor name
  kMonitorCheck,  // MONITOR/CHECK
  kCheckOf,       // a check id of the monitor in the previous word (delconf)
  kType,          // a check type
  kParams,        // key= of the type in args[1] (add) or of the check in args[0] (set)
  kTarget,        // MONITOR or MONITOR/CHECK
};

struct ConsoleCommands::Command {
  std::string_view name;
  std::vector<std::string_view> aliases;
  std::string_view syntax;
  std::string_view summary;
  Answer (ConsoleCommands::*run)(const Call&);
  std::vector<ArgKind> args;  // the last one repeats
  std::vector<std::string_view> options = {};
  bool hidden = false;
};

const std::vector<ConsoleCommands::Command>& ConsoleCommands::table() {
  using C = ConsoleCommands;
  static const std::vector<Command> commands = {
      {"help",
       {},
       "help [COMMAND]",
       "every command, or one command in detail",
       &C::help,
       {ArgKind::kCommand}},
      {"status",
       {},
       "status",
       "monitors by state, check counts, every DOWN check, ingest rate",
       &C::status,
       {ArgKind::kNone}},
      {"monitors",
       {"list_all_queues"},
       "monitors",
       "every monitor: state, peer, since, last heard, config versions, backlog",
       &C::monitors,
       {ArgKind::kNone}},
      {"monitor",
       {"list_queue"},
       "monitor NAME",
       "one monitor and each of its checks",
       &C::monitor,
       {ArgKind::kMonitor, ArgKind::kNone}},
      {"checks",
       {"viewconf"},
       "checks [MONITOR]",
       "the configured checks (defaults applied) with state and last result",
       &C::checks,
       {ArgKind::kMonitor, ArgKind::kNone}},
      {"add",
       {},
       "add MONITOR TYPE key=value ... [id=ID]",
       "adds a check (its id defaults to TYPE-N); `help add` lists each type's parameters",
       &C::add,
       {ArgKind::kMonitor, ArgKind::kType, ArgKind::kParams}},
      {"addconf",
       {},
       "addconf MONITOR TYPE TARGET [PORT] INTERVAL",
       "adds a check, the old console's way (e.g. addconf edge-1 tcp 127.0.0.1 443 5)",
       &C::addconf,
       {ArgKind::kMonitor, ArgKind::kType, ArgKind::kNone}},
      {"set",
       {},
       "set MONITOR/CHECK key=value ...",
       "changes parameters of one check",
       &C::set,
       {ArgKind::kMonitorCheck, ArgKind::kParams}},
      {"del",
       {},
       "del MONITOR/CHECK",
       "removes a check",
       &C::del,
       {ArgKind::kMonitorCheck, ArgKind::kNone}},
      {"delconf",
       {},
       "delconf MONITOR CHECK",
       "removes a check, the old console's way",
       &C::delconf,
       {ArgKind::kMonitor, ArgKind::kCheckOf, ArgKind::kNone}},
      {"monitor-add",
       {},
       "monitor-add NAME",
       "a monitor name the manager accepts",
       &C::monitor_add,
       {ArgKind::kNone}},
      {"monitor-del",
       {},
       "monitor-del NAME",
       "a monitor name the manager no longer accepts (refused while it has checks: del them first)",
       &C::monitor_del,
       {ArgKind::kMonitor, ArgKind::kNone}},
      {"events",
       {},
       "events [--since DUR] [MONITOR[/CHECK]]",
       "state changes from the store, oldest first (the newest 1000)",
       &C::events,
       {ArgKind::kTarget, ArgKind::kNone},
       {"--since"}},
      {"tail",
       {},
       "tail [MONITOR[/CHECK]] [--status S]",
       "live results until Ctrl+C (run by netmon-ctl)",
       &C::client_side,
       {ArgKind::kTarget, ArgKind::kNone},
       {"--status"}},
      {"stats",
       {},
       "stats [MONITOR[/CHECK]] [--since DUR]",
       "per check: results, success %, latency min/avg/median/p95/max, DOWN episodes",
       &C::stats,
       {ArgKind::kTarget, ArgKind::kNone},
       {"--since"}},
      {"export",
       {},
       "export FILE [--since T] [--until T] [--monitor M] [--check C] "
       "[--format jsonl|json|csv]",
       "writes stored results to FILE (on the manager's host), as netmon-manager export",
       &C::export_file,
       {ArgKind::kNone},
       {"--since", "--until", "--monitor", "--check", "--format"}},
      {"reload",
       {},
       "reload",
       "re-reads the config file (as SIGHUP) and says what changed",
       &C::reload,
       {ArgKind::kNone}},
      {"exit",
       {"quit"},
       "exit",
       "leaves the shell (in netmon-manager --shell: stops the manager)",
       &C::client_side,
       {ArgKind::kNone}},
      {"complete",
       {},
       "complete LINE",
       "completion candidates for the shell",
       &C::complete,
       {ArgKind::kNone},
       {},
       true},
  };
  return commands;
}

const ConsoleCommands::Command* ConsoleCommands::find(std::string_view name) {
  for (const Command& command : table()) {
    if (command.name == name ||
        std::find(command.aliases.begin(), command.aliases.end(), name) != command.aliases.end()) {
      return &command;
    }
  }
  return nullptr;
}

ConsoleCommands::ConsoleCommands(ConsoleHost& host, std::filesystem::path data_dir, Send send)
    : host_(host),
      data_dir_(std::move(data_dir)),
      send_(std::move(send)),
      worker_([this] { work(); }) {}

ConsoleCommands::~ConsoleCommands() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void ConsoleCommands::handle(const CtlCall& call, TimePoint now) {
  Answer answer;
  if (const Command* command = find(call.request.command)) {
    answer = (this->*(command->run))(Call{call, now});
  } else {
    answer = fail("unknown_command", "unknown command '" + call.request.command.substr(0, 64) +
                                         "' (type `help` for the list)");
  }
  if (!answer) return;
  answer->id = call.request.id;
  send_(call.routing_id, readable(std::move(*answer)));
}

void ConsoleCommands::tick(TimePoint now) {
  std::vector<std::pair<std::string, ctl::Reply>> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(done_);
  }
  for (auto& [routing_id, reply] : done)
    send_(routing_id, readable(std::move(reply)));
  if (pending_.empty()) return;
  const std::vector<MonitorStatus> rows = host_.monitor_rows();
  std::erase_if(pending_, [&](const PendingChange& change) {
    const auto row = std::find_if(rows.begin(), rows.end(),
                                  [&](const MonitorStatus& m) { return m.name == change.monitor; });
    std::string delivery;
    std::string detail;
    json data = {{"monitor", change.monitor},
                 {"check", change.data_check},
                 {"config_version", change.version},
                 {"ack_ms", nullptr}};
    if (row != rows.end() && row->acked_config_version >= change.version) {
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - change.sent).count();
      delivery = "acknowledged";
      data["ack_ms"] = ms;
      detail = change.monitor + " acknowledged in " + std::to_string(ms) + " ms";
    } else if (row == rows.end() || row->state != "CONNECTED") {
      delivery = "not_connected";
      detail = change.monitor + " is " + (row == rows.end() ? "gone" : row->state) + ": it gets v" +
               std::to_string(change.version) + " when it reconnects";
    } else if (now - change.sent >= kAckWait) {
      delivery = "pending";
      detail = change.monitor + " has not acknowledged it within " +
               std::to_string(kAckWait.count()) + " s; it is resent until it does";
    } else {
      return false;
    }
    data["delivery"] = delivery;
    ctl::Reply reply =
        ok(change.text + " (config v" + std::to_string(change.version) + "; " + detail + ")", data);
    reply.id = change.request_id;
    send_(change.routing_id, readable(std::move(reply)));
    return true;
  });
}

ConsoleCommands::Answer ConsoleCommands::help(const Call& call) {
  if (call.args().empty()) {
    json commands = json::array();
    for (const Command& command : table()) {
      if (command.hidden) continue;
      commands.push_back({{"name", command.name},
                          {"aliases", command.aliases},
                          {"syntax", command.syntax},
                          {"summary", command.summary}});
    }
    return ok("", {{"commands", commands}});
  }
  const Command* command = find(call.args()[0]);
  if (command == nullptr || command->hidden) {
    return fail("unknown_command",
                "no command '" + call.args()[0].substr(0, 64) + "' (type `help` for the list)");
  }
  json data = {{"command",
                {{"name", command->name},
                 {"aliases", command->aliases},
                 {"syntax", command->syntax},
                 {"summary", command->summary}}}};
  if (command->name == "add" || command->name == "set" || command->name == "addconf") {
    json types = json::array();
    auto params_of = [](std::span<const checks::ParamInfo> params) {
      json list = json::array();
      for (const auto& param : params) {
        list.push_back({{"name", param.name},
                        {"required", param.required},
                        {"default", param.default_value},
                        {"summary", param.summary}});
      }
      return list;
    };
    data["common"] = params_of(checks::common_check_params());
    for (const auto& type : checks::check_params_types()) {
      types.push_back(
          {{"type", type.name}, {"summary", type.summary}, {"params", params_of(type.params)}});
    }
    data["types"] = types;
  }
  return ok("", data);
}

ConsoleCommands::Answer ConsoleCommands::status(const Call&) {
  const ManagerSummary summary = host_.summary();
  const auto monitors = host_.monitor_rows();
  const auto checks = host_.check_rows();
  json by_state = {
      {"CONNECTED", 0}, {"RECONNECTING", 0}, {"LOST", 0}, {"STOPPED", 0}, {"NEVER_SEEN", 0}};
  for (const auto& m : monitors)
    by_state[m.state] = by_state.value(m.state, 0) + 1;
  json check_states = {{"UP", 0}, {"DOWN", 0}, {"UNKNOWN", 0}, {"STALE", 0}};
  json down = json::array();
  for (const auto& c : checks) {
    check_states[c.state] = check_states.value(c.state, 0) + 1;
    // A STALE check last known DOWN is listed too: nobody has seen it come back.
    if (c.last_state == "DOWN") {
      down.push_back({{"monitor", c.monitor},
                      {"check", c.check},
                      {"stale", c.state == "STALE"},
                      {"reason", c.last ? c.last->reason : ""},
                      {"error", c.last ? c.last->error : ""},
                      {"since", time_or_null(c.down_since)}});
    }
  }
  std::uint64_t store_bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code error;
    const auto size =
        std::filesystem::file_size(ResultStore::file_in(data_dir_).string() + suffix, error);
    if (!error) store_bytes += size;
  }
  return ok("", {{"manager",
                  {{"config_file", summary.config_file},
                   {"data_dir", summary.data_dir},
                   {"uptime_ms", summary.uptime.count()},
                   {"ingest_per_s", summary.ingest_per_s},
                   {"stored", summary.stored},
                   {"store_bytes", store_bytes}}},
                 {"endpoints",
                  {{"control", summary.control},
                   {"broker_in", summary.broker_in},
                   {"broker_out", summary.broker_out},
                   {"ctl", summary.ctl}}},
                 {"monitors", by_state},
                 {"checks", check_states},
                 {"down", down}});
}

ConsoleCommands::Answer ConsoleCommands::monitors(const Call& call) {
  if (!call.args().empty()) return usage("monitors", "monitors takes no arguments");
  json list = json::array();
  for (const auto& m : host_.monitor_rows())
    list.push_back(monitor_json(m));
  return ok("", {{"monitors", list}});
}

ConsoleCommands::Answer ConsoleCommands::monitor(const Call& call) {
  if (call.args().size() != 1) return usage("monitor NAME", "name one monitor");
  const std::string& name = call.args()[0];
  const auto rows = host_.monitor_rows();
  const auto row = std::find_if(rows.begin(), rows.end(),
                                [&](const MonitorStatus& m) { return m.name == name; });
  if (row == rows.end()) {
    return fail("unknown_monitor", "no monitor '" + name.substr(0, 64) +
                                       "' (see `monitors`; `monitor-add NAME` adds one)");
  }
  json checks = json::array();
  for (const auto& c : host_.check_rows()) {
    if (c.monitor == name) checks.push_back(check_json(c));
  }
  return ok("", {{"monitor", monitor_json(*row)}, {"checks", checks}});
}

ConsoleCommands::Answer ConsoleCommands::checks(const Call& call) {
  if (call.args().size() > 1) return usage("checks [MONITOR]", "one monitor at most");
  const std::string name = call.args().empty() ? "" : call.args()[0];
  if (!name.empty() && !host_.running_config().monitors.contains(name)) {
    return fail("unknown_monitor", "no monitor '" + name.substr(0, 64) + "' (see `monitors`)");
  }
  json list = json::array();
  for (const auto& c : host_.check_rows()) {
    if (name.empty() || c.monitor == name) list.push_back(check_json(c));
  }
  return ok("", {{"checks", list}});
}

ConsoleCommands::Answer ConsoleCommands::change(const Call& call, const ManagerConfig& config,
                                                const std::string& monitor,
                                                const std::string& check, const std::string& verb) {
  // Each change waits up to kAckWait for its monitor, and each is a write of
  // the config file on the loop: a client looping on `set` against a monitor
  // that does not acknowledge is refused, not queued without bound.
  if (pending_.size() >= kMaxPendingChanges) {
    return fail("busy", std::to_string(pending_.size()) +
                            " changes are waiting for their monitors; try again in a moment");
  }
  auto committed = host_.commit_config(config);
  if (auto* failure = std::get_if<ConsoleFailure>(&committed)) return fail(*failure);
  const auto& applied = std::get<AppliedConfig>(committed);
  const std::string what = verb + " " + (check.empty() ? monitor : monitor + "/" + check);
  const auto version = applied.versions.find(monitor);
  if (version == applied.versions.end()) {
    return ok(what + " (the config file is written; no monitor's checks changed)",
              {{"monitor", monitor},
               {"check", check},
               {"config_version", nullptr},
               {"delivery", "none"},
               {"ack_ms", nullptr}});
  }
  pending_.push_back(PendingChange{call.ctl.routing_id, call.ctl.request.id, monitor, what, check,
                                   version->second, call.now});
  tick(call.now);  // answers at once unless the monitor is connected
  return std::nullopt;
}

// Edits name their failure by the step that refused: the monitor, the check,
// then the check's own validation (the config file's texts).
ConsoleCommands::Answer ConsoleCommands::add(const Call& call) {
  if (call.args().size() < 2) {
    return usage("add MONITOR TYPE key=value ...", "name the monitor and the check type");
  }
  const ManagerConfig& config = host_.running_config();
  const std::string& monitor = call.args()[0];
  if (auto known = require_monitor(config, monitor); !known) {
    return fail("unknown_monitor", known.error().message);
  }
  auto edited = add_check(config, monitor, std::span(call.args()).subspan(1));
  if (!edited) return fail("invalid_param", edited.error().message);
  return change(call, edited->config, monitor, edited->check, "added");
}

ConsoleCommands::Answer ConsoleCommands::addconf(const Call& call) {
  if (call.args().size() < 2) {
    return usage("addconf MONITOR TYPE TARGET [PORT] INTERVAL", "name the monitor and the type");
  }
  const ManagerConfig& config = host_.running_config();
  const std::string& monitor = call.args()[0];
  if (auto known = require_monitor(config, monitor); !known) {
    return fail("unknown_monitor", known.error().message);
  }
  auto edited = add_check_positional(config, monitor, std::span(call.args()).subspan(1));
  if (!edited) return fail("invalid_param", edited.error().message);
  return change(call, edited->config, monitor, edited->check, "added");
}

std::optional<protocol::ctl::Reply> ConsoleCommands::find_check(std::string_view text,
                                                                std::string_view syntax) {
  auto ref = parse_check_ref(text);
  if (!ref) return usage(syntax, ref.error().message);
  const ManagerConfig& config = host_.running_config();
  if (auto known = require_monitor(config, ref->monitor); !known) {
    return fail("unknown_monitor", known.error().message);
  }
  if (auto known = require_check(config, *ref); !known) {
    return fail("unknown_check", known.error().message);
  }
  return std::nullopt;
}

ConsoleCommands::Answer ConsoleCommands::set(const Call& call) {
  constexpr std::string_view kSyntax = "set MONITOR/CHECK key=value ...";
  if (call.args().size() < 2) return usage(kSyntax, "name a check and a change");
  if (auto refused = find_check(call.args()[0], kSyntax)) return refused;
  auto edited =
      set_check(host_.running_config(), call.args()[0], std::span(call.args()).subspan(1));
  if (!edited) return fail("invalid_param", edited.error().message);
  return change(call, edited->config, edited->monitor, edited->check, "changed");
}

ConsoleCommands::Answer ConsoleCommands::del(const Call& call) {
  constexpr std::string_view kSyntax = "del MONITOR/CHECK";
  if (call.args().size() != 1) return usage(kSyntax, "name one check");
  if (auto refused = find_check(call.args()[0], kSyntax)) return refused;
  auto edited = delete_check(host_.running_config(), call.args()[0]);
  if (!edited) return fail("invalid_param", edited.error().message);
  return change(call, edited->config, edited->monitor, edited->check, "removed");
}

ConsoleCommands::Answer ConsoleCommands::delconf(const Call& call) {
  constexpr std::string_view kSyntax = "delconf MONITOR CHECK";
  if (call.args().size() != 2) return usage(kSyntax, "name the monitor and the check");
  if (auto refused = find_check(call.args()[0] + "/" + call.args()[1], kSyntax)) return refused;
  auto edited = delete_check(host_.running_config(), call.args()[0], call.args()[1]);
  if (!edited) return fail("invalid_param", edited.error().message);
  return change(call, edited->config, edited->monitor, edited->check, "removed");
}

ConsoleCommands::Answer ConsoleCommands::monitor_add(const Call& call) {
  if (call.args().size() != 1) return usage("monitor-add NAME", "name one monitor");
  auto edited = add_monitor(host_.running_config(), call.args()[0]);
  if (!edited) return fail("invalid_param", edited.error().message);
  return change(call, edited->config, edited->monitor, "", "accepting monitor");
}

ConsoleCommands::Answer ConsoleCommands::monitor_del(const Call& call) {
  if (call.args().size() != 1) return usage("monitor-del NAME", "name one monitor");
  const ManagerConfig& config = host_.running_config();
  if (auto known = require_monitor(config, call.args()[0]); !known) {
    return fail("unknown_monitor", known.error().message);
  }
  auto edited = delete_monitor(config, call.args()[0]);
  if (!edited) return fail("invalid_param", edited.error().message);
  return change(call, edited->config, edited->monitor, "", "no longer accepting monitor");
}

ConsoleCommands::Answer ConsoleCommands::events(const Call& call) {
  auto parsed = parse_query_args(call.args());
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    return usage("events [--since DUR] [MONITOR[/CHECK]]", *problem);
  }
  const StoreFilter filter = std::get<QueryArgs>(parsed).filter;
  return in_background(call, [data_dir = data_dir_, filter] {
    auto reader = StoreReader::open(data_dir);
    if (!reader) return fail("store_error", reader.error().message);
    auto list = reader->events(filter, kMaxEvents);
    if (!list) return fail("store_error", list.error().message);
    json events = json::array();
    for (const auto& e : list->events) {
      events.push_back({{"time", utc_timestamp(e.time)},
                        {"monitor", e.monitor},
                        {"check", e.check},
                        {"from", e.from},
                        {"to", e.to},
                        {"text", e.text}});
    }
    return ok(list->truncated
                  ? "the newest " + std::to_string(kMaxEvents) + " events (use --since for fewer)"
                  : "",
              {{"events", events}, {"truncated", list->truncated}, {"damaged", list->damaged}});
  });
}

ConsoleCommands::Answer ConsoleCommands::stats(const Call& call) {
  auto parsed = parse_query_args(call.args());
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    return usage("stats [MONITOR[/CHECK]] [--since DUR]", *problem);
  }
  const StoreFilter filter = std::get<QueryArgs>(parsed).filter;
  return in_background(call, [data_dir = data_dir_, filter] {
    auto reader = StoreReader::open(data_dir);
    if (!reader) return fail("store_error", reader.error().message);
    auto stats = reader->stats(filter);
    if (!stats) return fail("store_error", stats.error().message);
    auto optional_ms = [](const std::optional<double>& ms) {
      return ms ? json(*ms) : json(nullptr);
    };
    json list = json::array();
    for (const auto& s : stats->checks) {
      list.push_back({{"monitor", s.monitor},
                      {"check", s.check},
                      {"results", s.results},
                      {"successes", s.successes},
                      {"success_pct", s.success_pct},
                      {"min_ms", optional_ms(s.min_ms)},
                      {"avg_ms", optional_ms(s.avg_ms)},
                      {"median_ms", optional_ms(s.median_ms)},
                      {"p95_ms", optional_ms(s.p95_ms)},
                      {"max_ms", optional_ms(s.max_ms)},
                      {"down_episodes", s.down_episodes}});
    }
    json losses = json::array();
    for (const auto& loss : stats->losses) {
      losses.push_back(
          {{"monitor", loss.monitor}, {"loss_records", loss.loss_records}, {"lost", loss.lost}});
    }
    return ok("", {{"since", filter.since ? json(utc_timestamp(*filter.since)) : json(nullptr)},
                   {"stats", list},
                   {"losses", losses},
                   {"damaged", stats->damaged}});
  });
}

ConsoleCommands::Answer ConsoleCommands::export_file(const Call& call) {
  constexpr std::string_view kSyntax =
      "export FILE [--since T] [--until T] [--monitor M] [--check C] [--format jsonl|json|csv]";
  if (call.args().empty()) return usage(kSyntax, "name the file to write");
  const std::filesystem::path file = call.args()[0];
  if (!file.is_absolute()) {
    return usage(kSyntax,
                 "FILE must be an absolute path on the manager's host (netmon-ctl makes "
                 "a relative one absolute)");
  }
  auto options =
      parse_export_flags(std::span(call.args()).subspan(1), std::chrono::system_clock::now());
  if (!options) return usage(kSyntax, options.error().message);
  options->data_dir = data_dir_;
  return in_background(call, [file, options = std::move(options).value()] {
    // Written beside FILE and renamed over it: a reader never sees half an
    // export. The partial file is one this export created (O_EXCL, a name of
    // its own), so no file the operator did not name is truncated, and it
    // is removed on every failure.
    std::error_code status_error;
    const auto status = std::filesystem::status(file, status_error);
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
      // A directory, a device (/dev/full), a FIFO: renaming over it would
      // replace it (a manager run as root would swap a device node for a file).
      return fail("export_failed",
                  file.string() + " is not a regular file (name a new or a plain file)");
    }
    auto partial = create_partial(file);
    if (!partial) return fail("export_failed", partial.error().message);
    Expected<ExportCounts> counts = Error{""};
    {
      std::ofstream out(*partial, std::ios::trunc);
      if (out) {
        counts = export_records(options, out);
        out.flush();
        if (counts && !out) counts = Error{"writing " + partial->string() + " failed (disk full?)"};
      } else {
        counts = Error{"cannot write " + partial->string()};
      }
    }
    std::error_code error;
    if (!counts) {
      std::filesystem::remove(*partial, error);
      return fail("export_failed", counts.error().message);
    }
    std::filesystem::rename(*partial, file, error);
    if (error) {
      std::error_code ignored;
      std::filesystem::remove(*partial, ignored);
      return fail("export_failed", "cannot rename to " + file.string() + ": " + error.message());
    }
    return ok(
        "exported " + plural(counts->records, "record", "records") + " to " + file.string() +
            (counts->damaged ? " (" + std::to_string(counts->damaged) + " damaged)" : ""),
        {{"file", file.string()}, {"records", counts->records}, {"damaged", counts->damaged}});
  });
}

ConsoleCommands::Answer ConsoleCommands::reload(const Call& call) {
  if (!call.args().empty()) return usage("reload", "reload takes no arguments");
  auto reloaded = host_.reload_config_file();
  if (auto* failure = std::get_if<ConsoleFailure>(&reloaded)) return fail(*failure);
  const ManagerConfig& before = std::get<ManagerConfig>(reloaded);
  const auto changes = describe_changes(before, host_.running_config());
  json changed = json::array();
  std::string text;
  for (const auto& change : changes) {
    changed.push_back({{"monitor", change.monitor},
                       {"added", change.added},
                       {"removed", change.removed},
                       {"changed", change.changed}});
    text += (text.empty() ? "" : "; ") + change.monitor + ":";
    for (const auto& [label, ids] : {std::pair{"+", &change.added}, std::pair{"-", &change.removed},
                                     std::pair{"~", &change.changed}}) {
      for (const auto& id : *ids)
        text += std::string(" ") + label + id;
    }
  }
  return ok(changes.empty() ? "reloaded; nothing changed" : "reloaded; " + text,
            {{"changed", changed}});
}

ConsoleCommands::Answer ConsoleCommands::client_side(const Call& call) {
  return fail("usage", call.ctl.request.command + " is run by netmon-ctl itself, not the manager");
}

ConsoleCommands::Answer ConsoleCommands::in_background(
    const Call& call, std::function<protocol::ctl::Reply()> query) {
  {
    std::lock_guard lock(mutex_);
    if (jobs_.size() >= kMaxQueuedQueries) {
      return fail("busy", "the manager has " + std::to_string(jobs_.size()) +
                              " store queries queued; try again in a moment");
    }
    jobs_.push_back(Job{call.ctl.routing_id, call.ctl.request.id, std::move(query)});
  }
  wake_.notify_one();
  return std::nullopt;
}

void ConsoleCommands::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    ctl::Reply reply;
    try {
      reply = job.query();
    } catch (const std::exception& e) {
      // One broken query answers with its error; the worker goes on.
      reply = fail("store_error", e.what());
    }
    reply.id = job.request_id;
    lock.lock();
    done_.emplace_back(std::move(job.routing_id), std::move(reply));
  }
}

// Completion: the words before the cursor, and the word being typed.
ConsoleCommands::Answer ConsoleCommands::complete(const Call& call) {
  const std::string line = call.args().empty() ? "" : call.args()[0];
  std::vector<std::string> words;
  std::string word;
  for (const char c : line) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  std::vector<std::string> candidates = complete_words(words, word);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (candidates.size() > kMaxCandidates) candidates.resize(kMaxCandidates);
  return ok("", {{"word", word}, {"candidates", candidates}});
}

std::vector<std::string> ConsoleCommands::complete_words(const std::vector<std::string>& words,
                                                         const std::string& word) {
  std::vector<std::string> out;
  auto offer = [&](std::string_view candidate) {
    if (candidate.starts_with(word)) out.emplace_back(candidate);
  };
  const ManagerConfig& config = host_.running_config();
  if (words.empty()) {
    for (const Command& command : table()) {
      if (command.hidden) continue;
      offer(command.name);
      for (auto alias : command.aliases)
        offer(alias);
    }
    return out;
  }
  const Command* command = find(words[0]);
  if (command == nullptr) return out;
  if (word.starts_with("-")) {
    for (auto option : command->options)
      offer(option);
    return out;
  }
  // Positions count the arguments that are not options or option values.
  std::vector<std::string> args;
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (words[i].starts_with("--")) {
      ++i;  // its value
      continue;
    }
    args.push_back(words[i]);
  }
  if (words.size() >= 2 && words.back().starts_with("--")) {
    if (words.back() == "--format") {
      for (auto format : {"jsonl", "json", "csv"})
        offer(format);
    } else if (words.back() == "--status") {
      for (auto status : {"up", "down", "timeout", "error"})
        offer(status);
    } else if (words.back() == "--monitor") {
      for (const auto& [name, checks] : config.monitors)
        offer(name);
    }
    return out;
  }
  const ArgKind kind = command->args.empty()
                           ? ArgKind::kNone
                           : command->args[std::min(args.size(), command->args.size() - 1)];
  auto offer_checks = [&](bool with_monitor) {
    for (const auto& [name, checks] : config.monitors) {
      if (!with_monitor && !args.empty() && name != args[0]) continue;
      if (with_monitor && word.find('/') == std::string::npos) {
        offer(name + "/");
        continue;
      }
      for (const CheckSpec& spec : checks)
        offer(with_monitor ? name + "/" + spec.id : spec.id);
    }
  };
  switch (kind) {
    case ArgKind::kNone:
      break;
    case ArgKind::kCommand:
      for (const Command& c : table()) {
        if (!c.hidden) offer(c.name);
      }
      break;
    case ArgKind::kMonitor:
      for (const auto& [name, checks] : config.monitors)
        offer(name);
      break;
    case ArgKind::kTarget:
      for (const auto& [name, checks] : config.monitors)
        offer(name);
      [[fallthrough]];
    case ArgKind::kMonitorCheck:
      offer_checks(true);
      break;
    case ArgKind::kCheckOf:
      offer_checks(false);
      break;
    case ArgKind::kType:
      for (const auto& type : checks::check_params_types())
        offer(type.name);
      break;
    case ArgKind::kParams: {
      // add: the type is args[1]; set: the type of the check args[0] names.
      std::string type;
      std::set<std::string> given;
      if (command->name == "add" && args.size() >= 2) {
        type = args[1];
      } else if (command->name == "set" && !args.empty()) {
        if (auto path = split_check_path(args[0])) {
          if (auto m = config.monitors.find(path->first); m != config.monitors.end()) {
            for (const CheckSpec& spec : m->second) {
              if (spec.id == path->second) type = spec.type;
            }
          }
        }
      }
      for (const auto& arg : args) {
        if (auto eq = arg.find('='); eq != std::string::npos) given.insert(arg.substr(0, eq));
      }
      const auto* info = checks::find_check_params_type(type);
      if (info == nullptr) break;
      auto offer_param = [&](const checks::ParamInfo& param) {
        if (!given.contains(std::string(param.name))) offer(std::string(param.name) + "=");
      };
      for (const auto& param : info->params)
        offer_param(param);
      for (const auto& param : checks::common_check_params())
        offer_param(param);
      break;
    }
  }
  return out;
}

}  // namespace netmon::manager
