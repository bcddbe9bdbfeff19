# cmake --install: the headers of the three layers (detail/ included) into <prefix>/include/weft,
# the static libraries, and the CMake package (weftConfig.cmake, weftConfigVersion.cmake,
# weftTargets.cmake and the moodycamel finder) into <prefix>/lib/cmake/weft.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(WEFT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/weft" CACHE STRING
    "Where weftConfig.cmake is installed, relative to the prefix")

function(weft_add_install)
  get_property(layer_targets GLOBAL PROPERTY WEFT_LAYER_TARGETS)
  get_property(include_dirs GLOBAL PROPERTY WEFT_LAYER_INCLUDE_DIRS)

  foreach(dir IN LISTS include_dirs)
    install(DIRECTORY "${dir}/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
      COMPONENT weft_development
      FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
  endforeach()

  install(TARGETS ${layer_targets} weft
    EXPORT weftTargets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT weft_development
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT weft_development
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(EXPORT weftTargets
    NAMESPACE weft::
    DESTINATION "${WEFT_INSTALL_CMAKEDIR}"
    COMPONENT weft_development)

  set(WEFT_BOOST_MIN_VERSION 1.74)
  configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/weftConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/weftConfig.cmake"
    INSTALL_DESTINATION "${WEFT_INSTALL_CMAKEDIR}")
  write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/weftConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}"
    COMPATIBILITY SameMinorVersion)
  install(FILES
    "${PROJECT_BINARY_DIR}/weftConfig.cmake"
    "${PROJECT_BINARY_DIR}/weftConfigVersion.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/WeftConcurrentQueue.cmake"
    DESTINATION "${WEFT_INSTALL_CMAKEDIR}"
    COMPONENT weft_development)
endfunction()
