#include "manager/console/console_shell.hpp"

// libedit's readline-compatible interface: its callback mode
// (rl_callback_handler_install / rl_callback_read_char) lets our poll loop
// own stdin, so log lines and Ctrl+C are handled between keystrokes.
#include <editline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <istream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "common/command_line.hpp"
#include "manager/console/command_words.hpp"
#include "manager/console/console_session.hpp"
#include "manager/console/interrupt_pipe.hpp"

namespace netmon::console {
namespace {

constexpr int kHistoryEntries = 1000;
constexpr std::chrono::milliseconds kCompletionTimeout{2000};

void make_pipe(int& read_fd, int& write_fd, const char* what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), what);
  read_fd = fds[0];
  write_fd = fds[1];
}

void drain(int fd) {
  char buffer[256];
  while (::read(fd, buffer, sizeof buffer) > 0) {
  }
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Where log lines go: straight to stderr, or, while the shell shows its
// prompt and waits for a key, queued for the shell's loop, which a byte on
// the wake pipe tells to print them above the prompt.
class LogRelay {
 public:
  // Never destroyed: a logger may still write during static destruction.
  static LogRelay& instance() {
    static auto* relay = new LogRelay;
    return *relay;
  }

  void write(std::string line) {
    std::lock_guard lock(mutex_);
    if (!waiting_) {
      write_all(STDERR_FILENO, line);
      return;
    }
    queued_.push_back(std::move(line));
    const char byte = 'l';
    [[maybe_unused]] const auto written = ::write(wake_write_, &byte, 1);
  }

  // The shell shows its prompt (true) or runs a command / has ended (false).
  // Lines queued when waiting ends are printed first, so none is lost.
  void set_waiting(bool waiting) {
    std::lock_guard lock(mutex_);
    waiting_ = waiting;
    if (!waiting) flush_queued_locked();
  }

  std::deque<std::string> take() {
    std::lock_guard lock(mutex_);
    drain(wake_read_);
    return std::exchange(queued_, {});
  }

  int wake_fd() const { return wake_read_; }

 private:
  LogRelay() { make_pipe(wake_read_, wake_write_, "pipe for shell log lines"); }
  void flush_queued_locked() {
    for (const std::string& line : queued_)
      write_all(STDERR_FILENO, line);
    queued_.clear();
  }

  std::mutex mutex_;
  bool waiting_ = false;
  std::deque<std::string> queued_;
  int wake_read_ = -1;
  int wake_write_ = -1;
};

class ShellLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    LogRelay::instance().write(std::string(formatted.data(), formatted.size()));
  }
  void flush_() override {}
};

SessionOptions session_options(const ShellOptions& options, bool in_shell) {
  SessionOptions session;
  session.json = options.json;
  session.in_shell = in_shell;
  session.render = stdout_render_options();
  session.no_manager_hint = options.no_manager_hint;
  return session;
}

// One typed line: nullopt for exit/quit, else the exit code of what it ran.
std::optional<int> run_line(ConsoleSession& session, const std::string& line, std::ostream& err,
                            bool in_shell) {
  auto words = split_words(line);
  if (!words) {
    err << (in_shell ? "" : "netmon-ctl: ") << words.error().message << "\n";
    return kExitUsage;
  }
  if (words->empty()) return kExitOk;
  if (words->front() == "exit" || words->front() == "quit") return std::nullopt;
  return session.run(*words);
}

// What the libedit callbacks (plain C functions) reach: the one running shell.
struct Shell {
  const ShellOptions& options;
  ConsoleSession& session;
  std::ostream& out;
  std::ostream& err;
  bool done = false;
  int last_code = kExitOk;
  bool line_done = false;     // on_line took a line (or EOF: line empty)
  bool end_of_input = false;  // Ctrl+D on an empty line
  std::optional<std::string> line;
};
Shell* g_shell = nullptr;

char* copy_string(const std::string& text) {
  char* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy != nullptr) std::memcpy(copy, text.c_str(), text.size() + 1);
  return copy;
}

// libedit's completion hook. The manager knows the commands, monitors,
// checks, types and parameters: it gets the line up to the cursor and
// answers the word it completed and the candidates for it. libedit replaces
// its own word (`text`, split at blanks); where the manager's word is a
// shorter tail of it (after a '/'), the candidates get the rest back.
char** complete(const char* text, int, int) {
  rl_attempted_completion_over = 1;  // never libedit's file-name completion
  if (g_shell == nullptr) return nullptr;
  const std::string line(rl_line_buffer, static_cast<std::size_t>(rl_point));
  // A TAB that hangs is worse than one that offers nothing: a short deadline.
  const CallOutcome outcome =
      g_shell->session.client().call("complete", {line}, kCompletionTimeout);
  if (outcome.kind != CallOutcome::Kind::kReply || !outcome.reply.ok) return nullptr;
  const auto data = nlohmann::json::parse(outcome.reply.data, nullptr, false);
  if (!data.is_object() || !data.contains("word") || !data["word"].is_string() ||
      !data.contains("candidates") || !data["candidates"].is_array())
    return nullptr;
  const std::string word = data["word"].get<std::string>();
  const std::string typed = text;
  std::vector<std::string> matches;
  for (const auto& candidate : data["candidates"]) {
    if (!candidate.is_string()) continue;
    const std::string c = candidate.get<std::string>();
    if (typed.ends_with(word)) {
      matches.push_back(typed.substr(0, typed.size() - word.size()) + c);
    } else if (word.ends_with(typed)) {
      const std::string before = word.substr(0, word.size() - typed.size());
      if (c.starts_with(before)) matches.push_back(c.substr(before.size()));
    }
  }
  if (matches.empty()) return nullptr;
  // A parameter name ("url=") or a monitor ("edge-1/") goes on; anything else is a whole word.
  const std::string& only = matches.front();
  const bool goes_on = matches.size() == 1 && (only.ends_with('=') || only.ends_with('/'));
  // The space goes into the match itself: libedit's append character came
  // out differently in the ASan build (no space after "help").
  rl_completion_append_character = 0;
  // libedit's convention: [0] replaces the word (the candidates' common
  // prefix), then the candidates, then NULL; one candidate alone is [0].
  std::string common = matches.front();
  for (const std::string& m : matches) {
    std::size_t n = 0;
    while (n < common.size() && n < m.size() && common[n] == m[n])
      ++n;
    common.resize(n);
  }
  const std::size_t count = matches.size() == 1 ? 0 : matches.size();
  auto** result = static_cast<char**>(std::calloc(count + 2, sizeof(char*)));
  if (result == nullptr) return nullptr;
  result[0] = copy_string(matches.size() == 1 ? (goes_on ? only : only + " ") : common);
  for (std::size_t i = 0; i < count; ++i)
    result[i + 1] = copy_string(matches[i]);
  return result;
}

// libedit's line handler: only takes the line. The loop runs it once
// libedit is out of the way (see run_shell).
void on_line(char* raw) {
  Shell& shell = *g_shell;
  shell.line = raw == nullptr ? std::nullopt : std::optional<std::string>(raw);
  shell.line_done = true;
  std::free(raw);
}

// Ctrl+D, bound in place of libedit's own: on an empty line it ends the
// shell (libedit's callback mode never reports that EOF to the handler);
// within a line it does nothing.
int on_ctrl_d(int, int) {
  if (rl_end == 0 && g_shell != nullptr) {
    g_shell->end_of_input = true;
    rl_done = 1;
  }
  return 0;
}

// Runs a line the handler took, on a terminal in its normal (cooked) mode,
// as any program's output; then the prompt is drawn anew.
void run_taken_line(Shell& shell) {
  shell.line_done = false;
  if (!shell.line) {  // EOF, where a libedit reports it to the handler
    shell.out << "\n" << std::flush;
    shell.done = true;
    return;
  }
  const std::string& line = *shell.line;
  if (line.find_first_not_of(" \t") != std::string::npos) {
    add_history(line.c_str());
    if (!shell.options.history_file.empty()) write_history(shell.options.history_file.c_str());
  }
  shell.session.set_render_options(stdout_render_options());
  const auto code = run_line(shell.session, line, shell.err, true);
  (void)InterruptPipe::instance().take();  // a Ctrl+C that ended the command is spent
  shell.out.flush();
  shell.err.flush();
  if (!code) {
    shell.done = true;
    return;
  }
  shell.last_code = *code;
}

// Clears the prompt and the line being typed, prints `lines` where they
// were, and lets libedit draw prompt and line anew below them, with the
// cursor where it was. A line wrapped onto several rows is cleared from the
// row of the cursor as libedit last reported it (rl_point, which its
// callback mode updates on completion, not on every key), so a long line
// typed since its last TAB may leave a row of itself above the log lines.
void print_above_prompt(const std::deque<std::string>& lines, const std::string& prompt) {
  int rows = 0;
  int columns = 0;
  rl_get_screen_size(&rows, &columns);
  const std::size_t cursor =
      display_width(prompt) +
      display_width(std::string_view(rl_line_buffer, static_cast<std::size_t>(rl_point)));
  std::string clear = "\r";
  if (columns > 0 && cursor / static_cast<std::size_t>(columns) > 0)
    clear += "\x1b[" + std::to_string(cursor / static_cast<std::size_t>(columns)) + "A";
  clear += "\x1b[J";
  std::fflush(stdout);
  write_all(STDOUT_FILENO, clear);
  for (const std::string& line : lines) {
    // The terminal is in libedit's raw mode, which may not turn \n into \r\n.
    std::string text;
    for (const char c : line)
      text += c == '\n' ? std::string("\r\n") : std::string(1, c);
    write_all(STDERR_FILENO, text);
  }
  rl_forced_update_display();
}

}  // namespace

ShellStop::ShellStop() {
  make_pipe(read_fd_, write_fd_, "pipe for ShellStop");
}

ShellStop::~ShellStop() {
  ::close(read_fd_);
  ::close(write_fd_);
}

void ShellStop::request() const {
  const char byte = 's';
  [[maybe_unused]] const auto written = ::write(write_fd_, &byte, 1);
}

std::shared_ptr<spdlog::sinks::sink> shell_log_sink() {
  static const auto sink = std::make_shared<ShellLogSink>();
  return sink;
}

int run_shell(const ShellOptions& options, std::ostream& out, std::ostream& err) {
  std::optional<zmq::context_t> own_context;
  if (options.context == nullptr) own_context.emplace();
  zmq::context_t& context = options.context == nullptr ? *own_context : *options.context;
  CtlClient client(context, options.endpoint, options.timeout);
  InterruptPipe& interrupt = InterruptPipe::instance();
  client.set_cancel_fd(interrupt.fd());  // Ctrl+C stops waiting for a slow reply
  ConsoleSession session(context, client, session_options(options, true), out, err);
  Shell shell{options, session, out, err, false, kExitOk, false, false, std::nullopt};
  LogRelay& relay = LogRelay::instance();

  rl_catch_signals = 0;  // Ctrl+C is ours (InterruptPipe), not libedit's
  rl_readline_name = "netmon";
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = " \t";
  using_history();
  stifle_history(kHistoryEntries);
  if (!options.history_file.empty()) read_history(options.history_file.c_str());

  // libedit draws the prompt and puts the terminal in raw mode when the
  // handler is installed, and restores it when removed: each command runs
  // between the two, so its output (and a tail's Ctrl+C) meets a normal terminal.
  g_shell = &shell;
  auto show_prompt = [&] {
    rl_callback_handler_install(options.prompt.c_str(), on_line);
    relay.set_waiting(true);
  };
  auto hide_prompt = [&] {
    relay.set_waiting(false);
    rl_callback_handler_remove();
  };
  show_prompt();
  rl_add_defun("netmon-end-of-input", on_ctrl_d, 4);  // libedit exists once a handler is installed
  bool stopped = false;
  while (!shell.done) {
    pollfd fds[4] = {{STDIN_FILENO, POLLIN, 0},
                     {relay.wake_fd(), POLLIN, 0},
                     {interrupt.fd(), POLLIN, 0},
                     {options.stop != nullptr ? options.stop->fd() : -1, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) continue;  // EINTR: the SIGINT handler ran; its byte is read next
    if (fds[3].revents != 0) {
      stopped = true;
      break;
    }
    if (fds[1].revents != 0) {
      if (auto lines = relay.take(); !lines.empty()) print_above_prompt(lines, options.prompt);
    }
    if (fds[2].revents != 0 && interrupt.take()) {
      // As in a shell: Ctrl+C drops the line being typed, a fresh prompt comes.
      hide_prompt();
      write_all(STDOUT_FILENO, "^C\n");
      show_prompt();
    }
    if ((fds[0].revents & POLLIN) != 0) {
      rl_callback_read_char();
      if (shell.end_of_input) {
        rl_done = 0;
        hide_prompt();
        write_all(STDOUT_FILENO, "\n");
        shell.done = true;
      } else if (shell.line_done) {
        hide_prompt();
        run_taken_line(shell);
        if (!shell.done) show_prompt();
      }
    } else if ((fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
      shell.done = true;  // the terminal went away
      hide_prompt();
    }
  }
  if (stopped) {
    hide_prompt();
    write_all(STDOUT_FILENO, "\n");
  }
  g_shell = nullptr;
  if (!options.history_file.empty()) write_history(options.history_file.c_str());
  if (options.exit_stops_manager && !stopped) out << "stopping the manager\n" << std::flush;
  return shell.last_code == kExitNoManager ? kExitNoManager : kExitOk;
}

int run_script(const ShellOptions& options, std::istream& in, std::ostream& out,
               std::ostream& err) {
  std::optional<zmq::context_t> own_context;
  if (options.context == nullptr) own_context.emplace();
  zmq::context_t& context = options.context == nullptr ? *own_context : *options.context;
  CtlClient client(context, options.endpoint, options.timeout);
  ConsoleSession session(context, client, session_options(options, false), out, err);
  int result = kExitOk;
  std::string line;
  while (std::getline(in, line)) {
    const auto code = run_line(session, line, err, false);
    if (!code) break;
    if (*code != kExitOk) result = *code;
    if (*code == kExitNoManager) break;
  }
  return result;
}

}  // namespace netmon::console
