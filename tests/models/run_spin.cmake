# Runs one exhaustive spin check: spin -a, compile pan.c with the C compiler, run pan, and compare
# the number of errors pan reports with what the test expects. Used by tests/models/CMakeLists.txt
# (ctest label `model`); by hand:
#   cmake -DSPIN=spin -DCC=cc -DPML=tests/models/park_close.pml -DMODE=safety -DEXPECT=pass \
#         -DWORK=/tmp/spin_work [-DDEFS="-DNV=1;-DNO_RECHECK"] -P tests/models/run_spin.cmake
#   MODE safety:   pan compiled with -DSAFETY -DNOCLAIM, run `pan -m100000`: assertions and
#                  invalid end states (a process blocked forever = a lost wake-up or a deadlock)
#   MODE liveness: pan compiled with the file's ltl claim, run `pan -a -f -m100000`: acceptance
#                  cycles under weak fairness (the ltl property eventually holds on every run)
#   EXPECT pass: pan reports `errors: 0`; fail: pan reports an error (a planted mutation caught)
foreach(v SPIN CC PML MODE EXPECT WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_spin.cmake: -D${v}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
get_filename_component(_pml_name "${PML}" NAME)
configure_file("${PML}" "${WORK}/${_pml_name}" COPYONLY)

execute_process(COMMAND "${SPIN}" ${DEFS} -a "${_pml_name}" WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS "${WORK}/pan.c")
  message(FATAL_ERROR "spin -a ${_pml_name} failed (${rc}):\n${out}\n${err}")
endif()

if(MODE STREQUAL "safety")
  set(_cflags -DSAFETY -DNOCLAIM)
  set(_run ./pan -m100000)
elseif(MODE STREQUAL "liveness")
  set(_cflags "")
  set(_run ./pan -a -f -m100000)
else()
  message(FATAL_ERROR "run_spin.cmake: MODE must be safety or liveness, not '${MODE}'")
endif()
# -w: pan.c is generated code (gcc 12 warns about its array indexing). -O0: compiling pan.c at
# -O1 takes 1.6 s and saves 0.2 s of search on the largest model; -O0 compiles in 0.6 s.
execute_process(COMMAND "${CC}" -w -O0 ${_cflags} -o pan pan.c WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling pan.c failed (${rc}):\n${out}\n${err}")
endif()

execute_process(COMMAND ${_run} WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
string(REGEX MATCH "errors: ([0-9]+)" _m "${out}")
if(NOT _m)
  message(FATAL_ERROR "pan printed no error count (exit ${rc})")
endif()
set(_errors "${CMAKE_MATCH_1}")
if(EXPECT STREQUAL "pass")
  if(NOT _errors EQUAL 0)
    message(FATAL_ERROR "${_pml_name} ${DEFS} (${MODE}): pan found ${_errors} error(s); replay the trail with "
                        "`spin -t -p -g ${_pml_name}` in ${WORK}")
  endif()
  string(REGEX MATCH "([0-9]+) states, stored" _s "${out}")
  message("PASS: ${_pml_name} ${DEFS} (${MODE}): no error, ${CMAKE_MATCH_1} states")
elseif(EXPECT STREQUAL "fail")
  if(_errors EQUAL 0)
    message(FATAL_ERROR "${_pml_name} ${DEFS} (${MODE}): the planted mutation was NOT caught")
  endif()
  string(REGEX MATCH "pan:1: ([^\n]*)" _w "${out}")
  message("PASS: ${_pml_name} ${DEFS} (${MODE}): the mutation was caught: ${CMAKE_MATCH_1}")
else()
  message(FATAL_ERROR "run_spin.cmake: EXPECT must be pass or fail, not '${EXPECT}'")
endif()
