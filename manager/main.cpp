// netmon-manager: runs the manager (config, sessions, store, embedded broker)
// or, with `export`, prints the stored results.
#include <iostream>

#include "manager/manager_command.hpp"

int main(int argc, char** argv) {
  return netmon::manager::manager_main(argc, argv, std::cout, std::cerr);
}
