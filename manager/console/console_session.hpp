#pragma once
// One command line of the console, as netmon-ctl's one-shot mode, its
// script mode (lines on a non-TTY stdin) and the shell all run it: the words
// go to the manager as a ctl request (command = first word, args = the
// rest) and the reply is printed, or `tail` runs here (a SUB on the
// broker's out endpoint). exit/quit are the caller's business.

#include <ostream>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "manager/console/console_render.hpp"
#include "manager/console/ctl_client.hpp"

namespace netmon::console {

inline constexpr int kExitNoManager = 3;

struct SessionOptions {
  bool json = false;      // print each reply's data (or {"error":..}) as one JSON document
  bool in_shell = false;  // error replies print without the "netmon-ctl: " prefix
  RenderOptions render;
  // After "no manager answers at ENDPOINT (": how the user tells the manager
  // to listen there ("is netmon-manager running with --data-dir /x?").
  std::string no_manager_hint;
};

class ConsoleSession {
 public:
  // `context` must be the client's (for tail's SUB socket); all must outlive the session.
  ConsoleSession(zmq::context_t& context, CtlClient& client, SessionOptions options,
                 std::ostream& out, std::ostream& err);

  // Runs one command line. Returns netmon-ctl's exit code for it: 0 ok, 1 an
  // error reply or a reply we refuse, 2 usage (reply code usage or
  // unknown_command, or a bad tail line), 3 no manager.
  int run(const std::vector<std::string>& words);

  CtlClient& client() { return client_; }
  // The shell's terminal may have been resized or recoloured since the last command.
  void set_render_options(const RenderOptions& render) { options_.render = render; }

 private:
  int tail(const std::vector<std::string>& args);
  int no_manager(const std::string& problem);
  // Prints an error (`code` names it in --json's {"error":{code,message}}) and returns exit_code.
  int error(int exit_code, const std::string& code, const std::string& message);

  zmq::context_t& context_;
  CtlClient& client_;
  SessionOptions options_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace netmon::console
