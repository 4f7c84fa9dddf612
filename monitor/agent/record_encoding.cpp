#include "monitor/agent/record_encoding.hpp"

#include "common/protocol/body_writer.hpp"
#include "common/protocol/check_codec.hpp"

namespace netmon::agent {

using protocol::pack_field;
using protocol::pack_header;
using protocol::pack_key;
using protocol::pack_str;

std::string encode_result_record(const protocol::RecordKey& key, const CheckResult& result) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, "RESULT", 5);
  pack_key(packer, key);
  pack_str(packer, "result");
  pack_check_result(packer, result);
  return {buffer.data(), buffer.size()};
}

std::string encode_replay(std::string_view epoch, const std::vector<OutboxRecord>& records) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, "REPLAY", 2);
  pack_field(packer, "epoch", epoch);
  pack_str(packer, "records");
  packer.pack_array(static_cast<std::uint32_t>(records.size()));
  // Each body is one complete msgpack map: the array's elements, verbatim.
  for (const OutboxRecord& record : records)
    buffer.write(record.body.data(), record.body.size());
  return {buffer.data(), buffer.size()};
}

}  // namespace netmon::agent
