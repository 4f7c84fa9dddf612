#include "manager/console/ctl_command.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "common/duration.hpp"
#include "common/logging.hpp"
#include "manager/console/console_session.hpp"
#include "manager/console/console_shell.hpp"

namespace netmon::console {
namespace {

constexpr const char* kProgram = "netmon-ctl";

constexpr const char* kDescription =
    "netmon-ctl – operate a running netmon-manager over its ctl socket.\n"
    "With a COMMAND, runs it and exits (0 ok, 1 the manager answered with an error, 2 usage,\n"
    "3 no manager answers). Without one, an interactive shell on a terminal (history in\n"
    "~/.netmon_history, tab completion), or one command per line from stdin.\n"
    "'netmon-ctl --data-dir DIR help' lists the commands.";

// The index of the command's first word in argv (argc if there is none).
int command_start(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (!arg.starts_with("-")) return i;
    // An option of ours that takes a value, given as a separate word.
    if (arg == "--data-dir" || arg == "--ctl" || arg == "--timeout") ++i;
  }
  return argc;
}

}  // namespace

ParsedCommand<CtlCommand> parse_ctl_args(int argc, const char* const* argv) {
  CtlCommand command;
  std::string data_dir;
  std::string timeout_text = "10s";
  CLI::App app{kDescription, kProgram};
  auto* data_dir_option = app.add_option("--data-dir", data_dir,
                                         "the manager's data dir (its ctl socket is DIR/ctl.sock)")
                              ->type_name("DIR");
  app.add_option("--ctl", command.endpoint, "the manager's ctl endpoint (as its --ctl)")
      ->type_name("ENDPOINT")
      ->excludes(data_dir_option);
  app.add_flag("--json", command.json, "print each reply as one JSON document");
  app.add_option("--timeout", timeout_text, "how long to wait for each reply (500ms, 10s, 1m)")
      ->type_name("DUR")
      ->capture_default_str();
  app.footer(
      "netmon-ctl [--data-dir DIR | --ctl ENDPOINT] [--json] [--timeout DUR] [COMMAND ...]\n"
      "COMMAND and every word after it go to the manager as given, so netmon-ctl's own\n"
      "options come first.");
  // Everything from the first word that is no option of ours on is the
  // command's, its --since and all, so CLI11 sees only what comes before.
  const int first_word = command_start(argc, argv);
  if (auto stop = parse_command_line(app, first_word, argv)) return *stop;
  command.words.assign(argv + first_word, argv + argc);

  const auto timeout = parse_duration(timeout_text);
  if (!timeout || timeout->count() <= 0)
    return usage_error(kProgram, "--timeout " + timeout_text +
                                     ": expected a positive duration such as 500ms, 10s or 1m");
  command.timeout = *timeout;
  if (!data_dir.empty()) {
    const std::filesystem::path dir = std::filesystem::absolute(data_dir);
    command.endpoint = "ipc://" + (dir / "ctl.sock").string();
    command.no_manager_hint = "is netmon-manager running with --data-dir " + data_dir + "?";
  } else if (!command.endpoint.empty()) {
    command.no_manager_hint = "is netmon-manager running with --ctl " + command.endpoint + "?";
  } else {
    return usage_error(kProgram,
                       "no manager named: give --data-dir DIR (the manager's --data-dir) or "
                       "--ctl ENDPOINT (its --ctl)");
  }
  return command;
}

int ctl_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParsedCommand<CtlCommand> parsed = parse_ctl_args(argc, argv);
  if (!parsed.options) return print_exit(parsed, out, err);
  const CtlCommand& command = *parsed.options;
  // The components netmon-ctl runs (tail's subscriber) log as in a daemon;
  // here their info lines ("[logger] ready ...") would only be noise among
  // the results, which tail announces itself. Warnings still show.
  setup_logging("warn");

  ShellOptions shell;
  shell.endpoint = command.endpoint;
  shell.json = command.json;
  shell.timeout = command.timeout;
  shell.no_manager_hint = command.no_manager_hint;
  try {
    if (command.words.empty()) {
      if (::isatty(STDIN_FILENO) != 1) return run_script(shell, std::cin, out, err);
      if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        shell.history_file = std::filesystem::path(home) / ".netmon_history";
      return run_shell(shell, out, err);
    }
    zmq::context_t context;
    CtlClient client(context, command.endpoint, command.timeout);
    SessionOptions session;
    session.json = command.json;
    session.no_manager_hint = command.no_manager_hint;
    session.render = stdout_render_options();
    ConsoleSession console(context, client, session, out, err);
    return console.run(command.words);
  } catch (const zmq::error_t& e) {
    err << kProgram << ": " << (command.endpoint) << ": " << e.what()
        << " (--ctl takes an endpoint such as ipc:///var/lib/netmon/ctl.sock or "
           "tcp://127.0.0.1:5560)\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    // Out of descriptors for a pipe, or of memory: nothing a user typed.
    err << kProgram << ": " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace netmon::console
