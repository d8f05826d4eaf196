# Installs the build tree into a scratch prefix and builds tools/embed-example against it with
# find_package(refinery), then runs the example. Fails on any step.
file(REMOVE_RECURSE ${SCRATCH})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${SCRATCH}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
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
