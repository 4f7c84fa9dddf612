#pragma once
// Bus topics (PROTOCOL.md §3): the first frame of every PUB message, built
// here and nowhere else. Subscribers filter by prefix, so a builder given an
// empty last part returns the prefix of everything below it
// (result_topic("edge-1", "") is "res/edge-1/", one monitor's records).

#include <string>
#include <string_view>

#include "common/protocol/messages.hpp"

namespace netmon::protocol {

inline constexpr std::string_view kResultTopicPrefix = "res/";
inline constexpr std::string_view kEventTopicPrefix = "evt/";
// The check part of a LOSS record's topic.
inline constexpr std::string_view kLossTopicCheck = "_loss";

// res/<monitor>/<check>: a RESULT.
std::string result_topic(std::string_view monitor, std::string_view check);
// res/<monitor>/_loss: a LOSS.
std::string loss_topic(std::string_view monitor);
// evt/check/<monitor>/<check>: a check's EVENT.
std::string check_event_topic(std::string_view monitor, std::string_view check);
// evt/monitor/<monitor>: a monitor's EVENT.
std::string monitor_event_topic(std::string_view monitor);

// What a topic's body is, told by its prefix.
enum class TopicKind { kRecord, kEvent, kUnknown };
TopicKind topic_kind(std::string_view topic);

// The topic a record or an event is published under.
std::string record_topic(const Record& record);
std::string event_topic(const Event& event);

}  // namespace netmon::protocol
