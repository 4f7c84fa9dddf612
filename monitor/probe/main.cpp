#include <iostream>

#include "monitor/probe/probe_command.hpp"

int main(int argc, char** argv) {
  return netmon::probe::probe_main(argc, argv, std::cout, std::cerr);
}
