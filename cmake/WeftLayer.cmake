# weft_add_layer(<name> [BELOW <target>] [LINK <targets>...])
# Defines the library target weft_<name> for the layer folder that calls it (core, channels,
# actors), with the ALIAS weft::<name> and export name <name>:
#   - sources: every src/*.cpp of the folder; STATIC if there is one, INTERFACE if there is none
#     (re-globbed at build time, so adding the first .cpp turns it into a STATIC library);
#   - public include directory: the folder's own include/ and nothing else; the layer below
#     comes in only through BELOW. A header that includes a layer above does not compile.
#   - PRIVATE weft_build_flags (build tree only) and PUBLIC weft_sanitizer_flags (build tree only).
include_guard(GLOBAL)

function(weft_add_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "BELOW" "LINK")
  set(target weft_${name})
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp")
  set(include_dir "${CMAKE_CURRENT_SOURCE_DIR}/include")

  if(sources)
    add_library(${target} STATIC ${sources})
    set(scope PUBLIC)
    target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
    target_link_libraries(${target}
      PRIVATE $<BUILD_INTERFACE:weft_build_flags>
      PUBLIC  $<BUILD_INTERFACE:weft_sanitizer_flags>)
    set_target_properties(${target} PROPERTIES
      OUTPUT_NAME ${target}
      POSITION_INDEPENDENT_CODE ON
      CXX_EXTENSIONS OFF)
    list(LENGTH sources n)
    message(STATUS "weft: ${target}: STATIC library, ${n} source file(s)")
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
    target_link_libraries(${target} INTERFACE $<BUILD_INTERFACE:weft_sanitizer_flags>)
    message(STATUS "weft: ${target}: no src/*.cpp yet, INTERFACE library")
  endif()

  add_library(weft::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_compile_features(${target} ${scope} cxx_std_20)
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${include_dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  if(arg_BELOW)
    target_link_libraries(${target} ${scope} ${arg_BELOW})
  endif()
  if(arg_LINK)
    target_link_libraries(${target} ${scope} ${arg_LINK})
  endif()

  set_property(GLOBAL APPEND PROPERTY WEFT_LAYER_TARGETS ${target})
  set_property(GLOBAL APPEND PROPERTY WEFT_LAYER_INCLUDE_DIRS ${include_dir})
endfunction()
