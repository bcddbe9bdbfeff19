# Defines the imported target weft::concurrentqueue for moodycamel's ConcurrentQueue
# (header-only). Debian's libconcurrentqueue-dev ships no CMake package, so find the header
# ourselves and add its directory as a SYSTEM include (its own warnings are not ours).
# Code includes it as <concurrentqueue/concurrentqueue.h>.
# Used both by the build tree and by the installed weftConfig.cmake.
if(NOT TARGET weft::concurrentqueue)
  find_path(WEFT_CONCURRENTQUEUE_INCLUDE_DIR
    NAMES concurrentqueue/concurrentqueue.h
    DOC "Directory that contains concurrentqueue/concurrentqueue.h (moodycamel)")
  if(NOT WEFT_CONCURRENTQUEUE_INCLUDE_DIR)
    message(FATAL_ERROR
      "weft needs moodycamel's ConcurrentQueue: concurrentqueue/concurrentqueue.h was not found. "
      "On Debian/Ubuntu install the package libconcurrentqueue-dev "
      "(sudo apt-get install libconcurrentqueue-dev, or run scripts/deps.sh), "
      "or pass -DWEFT_CONCURRENTQUEUE_INCLUDE_DIR=<dir containing concurrentqueue/>.")
  endif()
  add_library(weft::concurrentqueue INTERFACE IMPORTED GLOBAL)
  set_target_properties(weft::concurrentqueue PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${WEFT_CONCURRENTQUEUE_INCLUDE_DIR}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${WEFT_CONCURRENTQUEUE_INCLUDE_DIR}")
endif()
