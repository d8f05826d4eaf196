# Installs the build tree into a scratch prefix and builds tools/embed-example against it with
# find_package(refinery), then runs the example. Fails on any step.
file(REMOVE_RECURSE ${SCRATCH})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${SCRATCH}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
# Only the public API is installed, and each header stands alone (no third-party includes).
file(GLOB_RECURSE installed RELATIVE ${SCRATCH}/prefix/include/refinery
     ${SCRATCH}/prefix/include/refinery/*)
list(SORT installed)
set(expected graph/engine.h graph/item.h graph/json_io.h graph/monitor_config.h graph/node.h
             graph/options.h graph/registry.h graph/request.h graph/runtime_config.h
             graph/stats.h graph/status.h)
if(NOT installed STREQUAL expected)
  message(FATAL_ERROR "installed headers differ from the public API:\n  ${installed}\n"
                      "expected:\n  ${expected}")
endif()
foreach(header ${installed})
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${SCRATCH}/prefix/include/refinery
                          -x c++ ${SCRATCH}/prefix/include/refinery/${header}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "${header} does not compile on its own:\n${err}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tools/embed-example -B ${SCRATCH}/build
                        -DCMAKE_PREFIX_PATH=${SCRATCH}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the embedding example failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${SCRATCH}/build -j 2 RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the embedding example failed: ${rc}")
endif()
execute_process(COMMAND ${SCRATCH}/build/embed-example RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message("${out}")
if(rc)
  message(FATAL_ERROR "the embedding example failed: ${rc}")
endif()
if(NOT out MATCHES "results: 3 ok, 1 failed")
  message(FATAL_ERROR "unexpected output from the embedding example")
endif()
