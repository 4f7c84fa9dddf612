// netmon-ctl: the operator console of a running netmon-manager.
#include <iostream>

#include "manager/console/ctl_command.hpp"

int main(int argc, char** argv) {
  return netmon::console::ctl_main(argc, argv, std::cout, std::cerr);
}
