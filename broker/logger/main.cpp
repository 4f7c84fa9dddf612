// netmon-logger: prints the live results feed (and the manager's events) as
// human lines or JSON lines, to stdout or a size-rotated file.
#include <iostream>

#include "broker/logger/logger_command.hpp"

int main(int argc, char** argv) {
  return netmon::logger::logger_main(argc, argv, std::cout, std::cerr);
}
