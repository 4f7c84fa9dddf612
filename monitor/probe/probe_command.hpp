#pragma once
// netmon-probe as a function, so main.cpp stays one line and tests can run
// the whole command in-process.

#include <ostream>

namespace netmon::probe {

// Parses the arguments, runs the session (stopping on SIGINT/SIGTERM), prints
// the final statistics and writes -o. Returns the process exit code: 0 when
// every check of the last complete round succeeded, 1 otherwise, 2 for usage
// errors. Progress and results go to `out`, errors and notes to `err`.
int probe_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace netmon::probe
