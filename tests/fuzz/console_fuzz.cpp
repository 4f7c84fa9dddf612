// The console's command handling (ConsoleCommands over a fake host) on any
// command and arguments: every request gets exactly one reply, never an
// exception, and the reply is what a client can read (valid UTF-8 texts, a
// JSON document or none). Input: words separated by NUL bytes, the first
// the command. An export writes only into the target's own temp dir.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.hpp"
#include "manager/console_commands.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/manager/fake_console_host.hpp"
#include "tests/support/await.hpp"

namespace {

using namespace netmon;
namespace ctl = protocol::ctl;

// A fresh directory of this process's own, removed at exit: the store
// queries find no store there, and an export writes nowhere else.
struct OwnDir {
  std::filesystem::path path;
  OwnDir() {
    std::string name =
        (std::filesystem::temp_directory_path() / "netmon-console-fuzz-XXXXXX").string();
    fuzz::require(::mkdtemp(name.data()) != nullptr, "a temp dir is made");
    path = name;
  }
  ~OwnDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

const std::filesystem::path& data_dir() {
  static const OwnDir dir;
  return dir.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      words.emplace_back();
    } else {
      words.back() += static_cast<char>(data[i]);
    }
  }
  if (words.size() > ctl::kMaxArgs + 1) words.resize(ctl::kMaxArgs + 1);
  ctl::Request request{7, words.front(), {words.begin() + 1, words.end()}};
  if (request.command.empty()) return 0;  // the codec refuses an empty cmd
  if (request.command == "export" && !request.args.empty())
    request.args[0] = (data_dir() / "export.out").string();

  manager::testing::FakeConsoleHost host;
  std::vector<ctl::Reply> replies;
  try {
    manager::ConsoleCommands console(
        host, data_dir(),
        [&](const std::string&, const ctl::Reply& reply) { replies.push_back(reply); });
    console.handle(manager::CtlCall{"client", request}, MonotonicClock::TimePoint{});
    const bool answered = netmon::testing::await([&] {
      console.tick(MonotonicClock::TimePoint{});
      return !replies.empty();
    });
    fuzz::require(answered, "every request is answered");
  } catch (const std::exception& e) {
    fuzz::require(false, std::string("no exception leaves the console: ") + e.what());
  }
  fuzz::require(replies.size() == 1, "exactly one reply");
  const ctl::Reply& reply = replies.front();
  fuzz::require(reply.id == request.id, "the reply carries the request's id");
  fuzz::require(reply.ok || !reply.code.empty(), "an error has a code");
  fuzz::require(
      is_valid_utf8(reply.message) && is_valid_utf8(reply.code) && is_valid_utf8(reply.data),
      "reply texts are valid UTF-8");
  fuzz::require(
      reply.data.empty() || !nlohmann::json::parse(reply.data, nullptr, false).is_discarded(),
      "data is a JSON document");
  fuzz::require(ctl::decode_reply(ctl::encode_reply(reply)).ok(), "the reply decodes");
  return 0;
}
