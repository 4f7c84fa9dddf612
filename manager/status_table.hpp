#pragma once
// The compact live status table the manager prints every few seconds.

#include <string>
#include <vector>

#include "manager/manager.hpp"

namespace netmon::manager {

// One line per monitor, its checks' states on the next line, e.g.
//   edge-1  id=1 CONNECTED config v3 (acked v3) stored_seq=1200 epoch=1f...
//     UP: echo web   DOWN: dns   UNKNOWN: -
std::string format_status_table(const std::vector<MonitorStatus>& monitors,
                                const std::vector<CheckStatus>& checks);

}  // namespace netmon::manager
