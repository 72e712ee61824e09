# libFuzzer targets over the input parsers (tests/fuzz/). A fuzz build is a build of its own:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCITYNET_FUZZ=ON
# scripts/fuzz configures, builds and runs it. The whole engine library is instrumented with
# ASan and UBSan so that a memory error or undefined behaviour anywhere under a parser is a
# finding, not only a crash.
option(CITYNET_FUZZ "Build the libFuzzer targets (needs clang and libclang-rt-14-dev)" OFF)

if(CITYNET_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CITYNET_FUZZ needs clang (libFuzzer): configure with "
                        "CC=clang CXX=clang++ in a fresh build directory")
  endif()
  set(CITYNET_FUZZ_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                              -fno-omit-frame-pointer)
  # Coverage for the fuzzer in the library too; -fsanitize=fuzzer (with its main) only on the
  # fuzz executables.
  target_compile_options(citynet_sim PRIVATE -fsanitize=fuzzer-no-link)
  target_compile_options(citynet_sim PUBLIC ${CITYNET_FUZZ_SANITIZERS})
  target_link_options(citynet_sim PUBLIC -fsanitize=address,undefined)

  foreach(target fuzz_scenario fuzz_csv)
    add_executable(${target} ${CMAKE_SOURCE_DIR}/tests/fuzz/${target}.cpp)
    target_link_libraries(${target} PRIVATE citynet_sim)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer ${CITYNET_WARNINGS})
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  endforeach()
endif()
