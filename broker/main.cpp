// netmon-broker: the standalone results bus (the manager embeds the same broker by default).
#include <iostream>

#include "broker/broker_command.hpp"

int main(int argc, char** argv) {
  return netmon::broker_main(argc, argv, std::cout, std::cerr);
}
