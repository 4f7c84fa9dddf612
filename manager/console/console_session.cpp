#include "manager/console/console_session.hpp"

#include <poll.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "broker/logger/line_sink.hpp"
#include "broker/logger/log_subscriber.hpp"
#include "common/command_line.hpp"
#include "manager/console/interrupt_pipe.hpp"

namespace netmon::console {
namespace {

constexpr const char* kPrefix = "netmon-ctl: ";

// An endpoint the manager bound on every interface ("tcp://*:5557",
// "tcp://0.0.0.0:5557") is reached on loopback from here.
std::string connectable(std::string endpoint) {
  for (const std::string_view any : {"tcp://*:", "tcp://0.0.0.0:"})
    if (endpoint.starts_with(any)) return "tcp://127.0.0.1:" + endpoint.substr(any.size());
  if (endpoint.starts_with("tcp://[::]:")) return "tcp://[::1]:" + endpoint.substr(11);
  return endpoint;
}

}  // namespace

ConsoleSession::ConsoleSession(zmq::context_t& context, CtlClient& client, SessionOptions options,
                               std::ostream& out, std::ostream& err)
    : context_(context), client_(client), options_(std::move(options)), out_(out), err_(err) {}

int ConsoleSession::no_manager(const std::string& problem) {
  std::string message = "no manager answers at " + client_.endpoint() + " (" + problem;
  if (!options_.no_manager_hint.empty()) message += "; " + options_.no_manager_hint;
  return error(kExitNoManager, "no_manager", message + ")");
}

int ConsoleSession::error(int exit_code, const std::string& code, const std::string& message) {
  if (options_.json) {
    out_ << nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(2) << "\n";
  } else {
    err_ << (options_.in_shell ? "" : kPrefix) << message << "\n";
  }
  return exit_code;
}

int ConsoleSession::run(const std::vector<std::string>& words) {
  if (words.empty()) return kExitOk;
  if (words.front() == "tail") return tail({words.begin() + 1, words.end()});
  // Leaving is the client's: `netmon-ctl exit` has no shell to leave.
  if (words.front() == "exit" || words.front() == "quit") return kExitOk;
  std::vector<std::string> args(words.begin() + 1, words.end());
  // The manager writes an export where FILE says and takes only an absolute
  // path (PROTOCOL.md §12): a relative one is the user's, from here.
  if (words.front() == "export" && !args.empty() && !args[0].empty() && !args[0].starts_with("-") &&
      std::filesystem::path(args[0]).is_relative())
    args[0] = std::filesystem::absolute(args[0]).string();
  const CallOutcome outcome = client_.call(words.front(), args);
  if (outcome.kind == CallOutcome::Kind::kNoManager) return no_manager(outcome.problem);
  if (outcome.kind == CallOutcome::Kind::kCancelled)
    return error(kExitFailure, "interrupted",
                 "interrupted: no reply awaited (the manager may still carry it out)");
  if (outcome.kind == CallOutcome::Kind::kBadReply)
    return error(kExitFailure, "bad_reply", client_.endpoint() + " sent " + outcome.problem);
  const protocol::ctl::Reply& reply = outcome.reply;
  if (!reply.ok) {
    const bool usage = reply.code == "usage" || reply.code == "unknown_command";
    return error(usage ? kExitUsage : kExitFailure, reply.code, reply.message);
  }
  nlohmann::json data;  // null: the reply had no data
  if (!reply.data.empty()) {
    data = nlohmann::json::parse(reply.data, nullptr, false);
    if (data.is_discarded())
      return error(kExitFailure, "bad_reply",
                   client_.endpoint() + " sent a reply whose data is not JSON");
  }
  if (options_.json) {
    // One document either way: a reply without data is its message.
    out_ << (data.is_null() ? nlohmann::json{{"message", reply.message}} : data).dump(2) << "\n";
  } else {
    out_ << render_data(reply.message, data, options_.render);
  }
  out_.flush();
  return kExitOk;
}

int ConsoleSession::tail(const std::vector<std::string>& args) {
  logger::LoggerOptions subscriber;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--status") {
      const auto status = i + 1 < args.size() ? parse_check_status(args[i + 1]) : std::nullopt;
      if (!status)
        return error(kExitUsage, "usage", "tail --status takes up, down, timeout or error");
      subscriber.filter.status = status;
      ++i;
    } else if (!args[i].starts_with("-") && subscriber.filter.monitor.empty()) {
      const std::size_t slash = args[i].find('/');
      subscriber.filter.monitor = args[i].substr(0, slash);
      if (slash != std::string::npos) subscriber.filter.check = args[i].substr(slash + 1);
    } else {
      return error(
          kExitUsage, "usage",
          "tail: unexpected '" + args[i] + "' (usage: tail [MONITOR[/CHECK]] [--status S])");
    }
  }
  // The broker's out endpoint is the manager's to tell (it may be embedded
  // or external, on any port).
  const CallOutcome status = client_.call("status", {});
  if (status.kind == CallOutcome::Kind::kNoManager) return no_manager(status.problem);
  if (status.kind != CallOutcome::Kind::kReply || !status.reply.ok)
    return error(kExitFailure, "bad_reply",
                 "tail: the manager's status did not come: " +
                     (status.reply.ok ? status.problem : status.reply.message));
  const auto data = nlohmann::json::parse(status.reply.data, nullptr, false);
  const nlohmann::json* out_endpoint = nullptr;
  if (data.is_object() && data.contains("endpoints") && data["endpoints"].is_object() &&
      data["endpoints"].contains("broker_out") && data["endpoints"]["broker_out"].is_string())
    out_endpoint = &data["endpoints"]["broker_out"];
  if (out_endpoint == nullptr)
    return error(kExitFailure, "bad_reply",
                 "tail: the manager's status names no endpoints.broker_out");
  subscriber.broker = connectable(out_endpoint->get<std::string>());
  subscriber.format = options_.json ? logger::OutputFormat::kJson : logger::OutputFormat::kHuman;

  InterruptPipe& interrupt = InterruptPipe::instance();
  (void)interrupt.take();  // a Ctrl+C from before this tail is not for it
  logger::StreamSink sink(out_);
  try {
    logger::LogSubscriber live(context_, subscriber, sink);
    if (!options_.json)
      err_ << "tail: results from " << subscriber.broker << " (Ctrl+C stops)\n" << std::flush;
    live.start();
    pollfd item{interrupt.fd(), POLLIN, 0};
    while (::poll(&item, 1, -1) < 0 || !interrupt.take()) {
    }
    live.stop();
  } catch (const zmq::error_t& e) {
    return error(kExitFailure, "bad_endpoint",
                 "tail: cannot subscribe to " + subscriber.broker + ": " + e.what());
  }
  out_.flush();
  return kExitOk;
}

}  // namespace netmon::console
