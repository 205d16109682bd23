# Helpers shared by every library, test and tool.

function(sotto_target_defaults target)
  target_compile_options(${target} PRIVATE ${SOTTO_WARNINGS})
endfunction()

# sotto_library(NAME core SOURCES ... DEPS ...): lib/<name> as target sotto_<name>.
function(sotto_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(sotto_${ARG_NAME} STATIC ${ARG_SOURCES})
  add_library(sotto::${ARG_NAME} ALIAS sotto_${ARG_NAME})
  target_include_directories(sotto_${ARG_NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                             PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(sotto_${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  sotto_target_defaults(sotto_${ARG_NAME})
endfunction()

# sotto_test(NAME x SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
# Tests find public vectors under SOTTO_VECTORS_DIR.
function(sotto_test)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} sotto_testing)
  sotto_target_defaults(${ARG_NAME})
  sotto_wasm_test_flags(${ARG_NAME})
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
endfunction()
