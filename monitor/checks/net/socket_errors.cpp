#include "monitor/checks/net/socket_errors.hpp"

#include <asio/error.hpp>

namespace netmon::checks {

std::string reason_for(const std::error_code& error, std::string_view phase) {
  if (error == asio::error::connection_refused) return "connect_refused";
  if (error == asio::error::host_unreachable) return "host_unreachable";
  if (error == asio::error::network_unreachable) return "network_unreachable";
  if (error == asio::error::connection_reset) return "connection_reset";
  if (error == asio::error::eof) return "connection_closed";
  if (error == asio::error::timed_out) return std::string(phase) + "_timeout";
  return std::string(phase) + "_failed";
}

bool is_local_failure(const std::error_code& error) {
  return error == asio::error::no_descriptors || error == asio::error::access_denied ||
         error == asio::error::no_permission || error == asio::error::no_memory ||
         error == asio::error::no_buffer_space;
}

Outcome socket_outcome(const std::error_code& error, std::string_view step, nlohmann::json details,
                       std::string_view what) {
  std::string text(what.empty() ? step : what);
  text += ": ";
  text += error.message();
  // A send that would block means our own socket buffer is full: not the target's doing.
  if (step == "socket" || is_local_failure(error) || error == asio::error::would_block) {
    return failure("socket_failed", std::move(text));
  }
  return down(reason_for(error, step), std::move(text), std::move(details));
}

}  // namespace netmon::checks
