#pragma once
// The operator console's wire messages (docs/PROTOCOL.md §12): a client
// (netmon-ctl, the manager's own shell) sends one request body on a DEALER to
// the manager's ctl ROUTER and gets one reply body with the same id. Both are
// msgpack maps; decoders take untrusted bytes and never throw.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace netmon::protocol::ctl {

inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;  // the manager refuses larger
inline constexpr std::size_t kMaxArgs = 256;
inline constexpr std::size_t kMaxReplyBytes = 64 * 1024 * 1024;  // the client refuses larger

struct Request {
  std::uint64_t id = 0;
  std::string command;            // the first word as typed (an alias is resolved by the manager)
  std::vector<std::string> args;  // the other words
  bool operator==(const Request&) const = default;
};

struct Reply {
  std::uint64_t id = 0;
  bool ok = true;
  // When !ok: usage, unknown_command, unknown_monitor, unknown_check,
  // invalid_param, config_changed_on_disk, bad_request, busy, store_error.
  std::string code;
  std::string message;  // one line for a person: what happened, or what is wrong and the fix
  std::string data;     // a JSON document (text) whose shape depends on the command; may be empty
  bool operator==(const Reply&) const = default;
};

std::string encode_request(const Request& request);
Expected<Request> decode_request(std::string_view bytes);

std::string encode_reply(const Reply& reply);
Expected<Reply> decode_reply(std::string_view bytes);

// Where a manager with --data-dir DIR serves the console unless --ctl says
// otherwise, and so where netmon-ctl --data-dir DIR looks: ipc://DIR/ctl.sock
// (DIR made absolute).
std::string default_ctl_endpoint(const std::filesystem::path& data_dir);

// The request's id when the body is a map with a readable "id" (ahead of any
// field beyond the small limits), else 0: an error reply to a request that
// failed to decode, even one refused for its size or its number of args,
// still reaches its caller. Constant memory whatever the body's size.
std::uint64_t request_id_of(std::string_view bytes);

}  // namespace netmon::protocol::ctl
