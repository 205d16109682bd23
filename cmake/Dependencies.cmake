# Third-party dependencies, all from Debian packages. In the wasm build libsodium comes from
# scripts/build-libsodium-wasm.sh (Debian's source, built with emscripten) and GoogleTest
# from Debian's source tree; there is no OpenSSL there.

if(SOTTO_WASM)
  # emcmake's default test runner passes a flag node 20 refuses; node also needs fetch off to
  # load the .wasm next to the .js.
  find_program(NODE_JS_EXECUTABLE NAMES node nodejs REQUIRED)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${NODE_JS_EXECUTABLE};--no-experimental-fetch")
  # Exceptions stay out of our libraries (and so out of the web client's core, which is
  # smaller without them); GoogleTest and JSON parsing use them, so test programs
  # (sotto_wasm_test_flags), GoogleTest and whatever parses JSON (sotto_json) are built with
  # -fexceptions: without it a throw aborts instead of being caught.
  add_link_options(-sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=1)
  if(NOT SOTTO_SODIUM_WASM_PREFIX)
    message(FATAL_ERROR "SOTTO_SODIUM_WASM_PREFIX: run scripts/build-libsodium-wasm.sh and pass its prefix")
  endif()
  add_library(sotto_sodium STATIC IMPORTED GLOBAL)
  set_target_properties(sotto_sodium PROPERTIES
    IMPORTED_LOCATION ${SOTTO_SODIUM_WASM_PREFIX}/lib/libsodium.a
    INTERFACE_INCLUDE_DIRECTORIES ${SOTTO_SODIUM_WASM_PREFIX}/include)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
  add_library(sotto_sodium INTERFACE)
  target_link_libraries(sotto_sodium INTERFACE PkgConfig::SODIUM)
  find_package(OpenSSL 3.0 REQUIRED)
endif()

if(SOTTO_TESTS)
  if(SOTTO_WASM)
    set(gtest_disable_pthreads ON CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
    target_compile_options(gtest PRIVATE -fexceptions)
    target_compile_options(gtest_main PRIVATE -fexceptions)
    add_library(sotto_gtest INTERFACE)
    target_link_libraries(sotto_gtest INTERFACE gtest gtest_main)
    # nlohmann-json is header-only; expose only its own folder, not all of /usr/include.
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/third_party_include)
    file(CREATE_LINK /usr/include/nlohmann ${CMAKE_BINARY_DIR}/third_party_include/nlohmann SYMBOLIC)
    add_library(sotto_json INTERFACE)
    target_include_directories(sotto_json SYSTEM INTERFACE ${CMAKE_BINARY_DIR}/third_party_include)
    # Whatever parses JSON catches the library's exceptions (the vector checks among them).
    target_compile_options(sotto_json INTERFACE -fexceptions)
  else()
    find_package(GTest REQUIRED)
    add_library(sotto_gtest INTERFACE)
    target_link_libraries(sotto_gtest INTERFACE GTest::gtest GTest::gtest_main)
    find_package(nlohmann_json 3.10 REQUIRED)
    add_library(sotto_json INTERFACE)
    target_link_libraries(sotto_json INTERFACE nlohmann_json::nlohmann_json)
  endif()
endif()

# Test programs catch exceptions (GoogleTest) and want a larger stack, under node and in a
# page alike.
set(SOTTO_WASM_TEST_LINK_FLAGS -fexceptions -sTOTAL_STACK=4194304)

# Link flags for test executables run under node: host files readable (vectors), exit code
# passed through to ctest.
function(sotto_wasm_test_flags target)
  if(SOTTO_WASM)
    target_compile_options(${target} PRIVATE -fexceptions)
    target_link_options(${target} PRIVATE ${SOTTO_WASM_TEST_LINK_FLAGS} -sNODERAWFS=1)
  endif()
endfunction()

# sotto_wasm_browser_test(TEST PRELOAD DIR...): TEST's objects linked again as TEST_browser
# for a web page (-sENVIRONMENT=web), with each DIR preloaded (TEST_browser.data) into its
# in-memory file system at the same path, so that the program reads its vector files as it
# does under node. A page that loads TEST_browser.js runs it; its output goes to the console.
function(sotto_wasm_browser_test test)
  cmake_parse_arguments(ARG "" "" "PRELOAD" ${ARGN})
  set(variant ${test}_browser)
  add_executable(${variant} $<TARGET_OBJECTS:${test}>)
  get_target_property(libraries ${test} LINK_LIBRARIES)
  target_link_libraries(${variant} PRIVATE ${libraries})
  target_link_options(${variant} PRIVATE ${SOTTO_WASM_TEST_LINK_FLAGS} -sENVIRONMENT=web)
  foreach(dir IN LISTS ARG_PRELOAD)
    target_link_options(${variant} PRIVATE "SHELL:--preload-file ${dir}@${dir}")
    file(GLOB files CONFIGURE_DEPENDS ${dir}/*)
    set_property(TARGET ${variant} APPEND PROPERTY LINK_DEPENDS ${files})
  endforeach()
endfunction()
