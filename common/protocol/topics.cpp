#include "common/protocol/topics.hpp"

namespace netmon::protocol {

std::string result_topic(std::string_view monitor, std::string_view check) {
  std::string topic(kResultTopicPrefix);
  topic.append(monitor).append("/").append(check);
  return topic;
}

std::string loss_topic(std::string_view monitor) {
  return result_topic(monitor, kLossTopicCheck);
}

std::string check_event_topic(std::string_view monitor, std::string_view check) {
  std::string topic(kEventTopicPrefix);
  topic.append("check/").append(monitor).append("/").append(check);
  return topic;
}

std::string monitor_event_topic(std::string_view monitor) {
  std::string topic(kEventTopicPrefix);
  topic.append("monitor/").append(monitor);
  return topic;
}

TopicKind topic_kind(std::string_view topic) {
  if (topic.starts_with(kResultTopicPrefix)) return TopicKind::kRecord;
  if (topic.starts_with(kEventTopicPrefix)) return TopicKind::kEvent;
  return TopicKind::kUnknown;
}

std::string record_topic(const Record& record) {
  if (record.is_loss()) return loss_topic(record.key.monitor);
  return result_topic(record.key.monitor, std::get<CheckResult>(record.body).check_id);
}

std::string event_topic(const Event& event) {
  return event.check.empty() ? monitor_event_topic(event.monitor)
                             : check_event_topic(event.monitor, event.check);
}

}  // namespace netmon::protocol
