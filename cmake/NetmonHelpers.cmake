# Warnings and sanitizers as small per-target helpers, switched by options, so
# third-party headers and targets are never built with our -Werror.

option(NETMON_WERROR "Treat warnings as errors on netmon targets" ON)
option(NETMON_SANITIZE "Build with AddressSanitizer + UndefinedBehaviorSanitizer" OFF)
# Precompiled headers, for the unoptimised sanitizer build (scripts/bootstrap.sh
# asan), whose units spend most of their time parsing headers. Not for -O1 and
# up: GCC 12 then reports its std::string false positives (array-bounds,
# stringop-overflow inside char_traits.h) from a precompiled <string> as if
# they were in our code, and -Werror stops the build.
option(NETMON_PCH "Precompile the heavy third-party headers once per target (-O0 builds)" OFF)

# nlohmann/json reaches almost every unit (CheckResult::details) and costs
# about a second to parse each time; a target of several units parses it once.
set(NETMON_PCH_HEADERS <nlohmann/json.hpp> <string> <vector> <chrono> <optional>)

# netmon_precompile(target header...): a precompiled header for a target with
# at least three units (below that, building it costs more than it saves).
function(netmon_precompile target)
  get_target_property(sources ${target} SOURCES)
  list(LENGTH sources count)
  if(NETMON_PCH AND count GREATER_EQUAL 3)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()

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

# Includes are repo-rooted ("monitor/engine/check_engine.hpp"), yet a target
# sees only the folders of the libraries it links: each library's include root
# is a directory of its own in the build tree holding one link, to its folder.
# So the engine cannot include a manager or ZeroMQ-using agent header, and a
# test can include only what its binary links (layering kept by the build).
# netmon_include_root(target folder): `folder` (relative to the project) is
# visible to `target` and to whatever links it.
function(netmon_include_root target folder)
  set(root ${PROJECT_BINARY_DIR}/include/${target})
  get_filename_component(parent ${root}/${folder} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${root})
  else()
    target_include_directories(${target} PUBLIC ${root})
  endif()
endfunction()

# netmon_library(name SOURCES ... DEPS ...): one library target per folder.
function(netmon_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  netmon_include_root(${name} ${folder})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  netmon_set_warnings(${name})
  netmon_precompile(${name} ${NETMON_PCH_HEADERS})
endfunction()

function(netmon_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  netmon_set_warnings(${name})
endfunction()
