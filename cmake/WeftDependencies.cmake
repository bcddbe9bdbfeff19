# Third-party dependencies of the library itself: Boost.Context, threads and the moodycamel
# queue. Debian 12 packages: libboost-context-dev, libconcurrentqueue-dev (scripts/deps.sh).
include_guard(GLOBAL)

find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS context)

include(${CMAKE_CURRENT_LIST_DIR}/WeftConcurrentQueue.cmake)
