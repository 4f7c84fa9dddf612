# Warnings and sanitizers as small per-target helpers, switched by options, so
# third-party headers and targets are never built with our -Werror.

option(NETMON_WERROR "Treat warnings as errors on netmon targets" ON)
option(NETMON_SANITIZE "Build with AddressSanitizer + UndefinedBehaviorSanitizer" OFF)

function(netmon_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wold-style-cast
                                           # GCC 12 false positive in std::string at -O3 (GCC PR 105329);
                                           # clang has no such warning and rejects the flag.
                                           $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
  if(NETMON_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(NETMON_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# netmon_library(name SOURCES ... DEPS ...): one library target per folder.
function(netmon_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  netmon_set_warnings(${name})
endfunction()

function(netmon_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  netmon_set_warnings(${name})
endfunction()
