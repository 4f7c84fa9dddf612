// netmon-echo: TCP and UDP echo server for tcp_echo / udp_echo checks.
#include <iostream>

#include "echo/echo_command.hpp"

int main(int argc, char** argv) {
  return netmon::echo::echo_main(argc, argv, std::cout, std::cerr);
}
