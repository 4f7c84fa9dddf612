#include "common/protocol/ctl_codec.hpp"

#include <algorithm>
#include <msgpack.hpp>

#include "common/protocol/check_codec.hpp"

namespace netmon::protocol::ctl {
namespace {

constexpr std::string_view kSignature = "NMP-CTL";

std::string to_bytes(const msgpack::sbuffer& buffer) {
  return {buffer.data(), buffer.size()};
}

void pack_header(Packer& packer, std::uint32_t fields) {
  packer.pack_map(fields + 2);
  pack_str(packer, "proto");
  pack_str(packer, kSignature);
  pack_str(packer, "v");
  packer.pack(kVersion);
}

Expected<void> read_header(const MsgMap& map) {
  auto proto = map.str("proto");
  if (!proto) return proto.error();
  if (*proto != kSignature) return Error{"not a ctl message (proto is not NMP-CTL)"};
  auto version = map.uint64("v");
  if (!version) return version.error();
  if (*version != kVersion) {
    return Error{"ctl protocol version " + std::to_string(*version) + " (this side speaks " +
                 std::to_string(kVersion) + "; use netmon-ctl of the manager's version)"};
  }
  return {};
}

Expected<MsgMap> open_map(const msgpack::object_handle& handle, std::string_view what) {
  auto map = MsgMap::of(handle.get(), what);
  if (!map) return map.error();
  if (auto header = read_header(*map); !header) return header.error();
  return map;
}

}  // namespace

std::string encode_request(const Request& request) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, 3);
  pack_str(packer, "id");
  packer.pack(request.id);
  pack_str(packer, "cmd");
  pack_str(packer, request.command);
  pack_str(packer, "args");
  packer.pack_array(static_cast<std::uint32_t>(request.args.size()));
  for (const std::string& arg : request.args)
    pack_str(packer, arg);
  return to_bytes(buffer);
}

Expected<Request> decode_request(std::string_view bytes) {
  if (bytes.size() > kMaxRequestBytes) return Error{"request larger than 64 KiB"};
  auto handle = unpack_bounded(bytes, UnpackLimits{.array = kMaxArgs, .map = 16, .depth = 3});
  if (!handle) return handle.error();
  auto map = open_map(*handle, "request");
  if (!map) return map.error();
  Request request;
  auto id = map->uint64("id");
  if (!id) return id.error();
  request.id = *id;
  auto command = map->str("cmd");
  if (!command) return command.error();
  if (command->empty()) return Error{"request: cmd is empty (send a command name)"};
  request.command = std::move(command).value();
  if (const msgpack::object* args = map->find("args")) {
    if (args->type != msgpack::type::ARRAY) return Error{"request: args is not an array"};
    for (const msgpack::object& arg : std::span(args->via.array.ptr, args->via.array.size)) {
      if (arg.type != msgpack::type::STR)
        return Error{"request: args holds a non-string (send every word as a string)"};
      request.args.emplace_back(arg.via.str.ptr, arg.via.str.size);
    }
  }
  return request;
}

std::string encode_reply(const Reply& reply) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, 5);
  pack_str(packer, "id");
  packer.pack(reply.id);
  pack_str(packer, "ok");
  packer.pack(reply.ok);
  pack_str(packer, "code");
  pack_str(packer, reply.code);
  pack_str(packer, "message");
  pack_str(packer, reply.message);
  pack_str(packer, "data");
  pack_str(packer, reply.data);
  return to_bytes(buffer);
}

Expected<Reply> decode_reply(std::string_view bytes) {
  if (bytes.size() > kMaxReplyBytes) return Error{"reply larger than 64 MiB"};
  auto handle = unpack_bounded(
      bytes, UnpackLimits{.array = 16, .map = 16, .str = kMaxReplyBytes, .bin = 0, .depth = 2});
  if (!handle) return handle.error();
  auto map = open_map(*handle, "reply");
  if (!map) return map.error();
  Reply reply;
  auto id = map->uint64("id");
  if (!id) return id.error();
  reply.id = *id;
  auto ok = map->boolean_or("ok", false);
  if (!ok) return ok.error();
  reply.ok = *ok;
  for (auto [key, member] : {std::pair{"code", &Reply::code}, std::pair{"message", &Reply::message},
                             std::pair{"data", &Reply::data}}) {
    auto text = map->str_or(key, "");
    if (!text) return text.error();
    reply.*member = std::move(text).value();
  }
  if (!reply.ok && reply.code.empty()) return Error{"reply: an error without a code"};
  return reply;
}

std::string default_ctl_endpoint(const std::filesystem::path& data_dir) {
  return "ipc://" + (std::filesystem::absolute(data_dir) / "ctl.sock").lexically_normal().string();
}

// A refused request (too large, too many args: exactly the ones that need an
// error reply) cannot be unpacked whole, so the id is read pair by pair from
// the top map, each key and value within small limits, stopping at "id":
// constant memory whatever follows it. Our encoder puts id before cmd and
// args; a value beyond the limits before the id gives 0.
std::uint64_t request_id_of(std::string_view bytes) {
  if (bytes.empty()) return 0;
  const auto head = static_cast<unsigned char>(bytes[0]);
  std::size_t pairs = 0, offset = 1;
  if ((head & 0xf0U) == 0x80U) {
    pairs = head & 0x0fU;
  } else if (head == 0xdeU && bytes.size() >= 3) {
    pairs = static_cast<std::size_t>(static_cast<unsigned char>(bytes[1])) << 8 |
            static_cast<unsigned char>(bytes[2]);
    offset = 3;
  } else {
    return 0;  // not a map, or a map32 (no request has 65536 fields)
  }
  const msgpack::unpack_limit limits(16, 16, 64, 0, 0, 2);
  try {
    for (std::size_t pair = 0; pair < std::min<std::size_t>(pairs, 16); ++pair) {
      const msgpack::object_handle key =
          msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limits);
      const msgpack::object_handle value =
          msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limits);
      const msgpack::object& k = key.get();
      if (k.type != msgpack::type::STR || std::string_view(k.via.str.ptr, k.via.str.size) != "id")
        continue;
      const msgpack::object& v = value.get();
      return v.type == msgpack::type::POSITIVE_INTEGER ? v.via.u64 : 0;
    }
  } catch (const std::exception&) {
    // Truncated, or a value beyond the limits before the id.
  }
  return 0;
}

}  // namespace netmon::protocol::ctl
