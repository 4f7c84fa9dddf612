#pragma once
// Runs a program's <program>_main in-process with string arguments and keeps
// what it wrote to out and err.

#include <sstream>
#include <string>
#include <vector>

namespace netmon::testing {

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `args` without the program name, which is `program`.
template <class Main>
CommandRun run_command(Main main, const std::string& program,
                       const std::vector<std::string>& args) {
  std::vector<const char*> argv{program.c_str()};
  for (const std::string& arg : args)
    argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  CommandRun run;
  run.exit_code = main(static_cast<int>(argv.size()), argv.data(), out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

}  // namespace netmon::testing
