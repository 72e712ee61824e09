# Writes version.hpp with the commit checked out now. Run at every build (not only at configure
# time), so that an incremental build after a commit names that commit in --version and in every
# file it writes; configure_file leaves the header untouched when nothing changed, so nothing
# recompiles then. Inputs: SOURCE_DIR, OUTPUT, VERSION, GIT_EXECUTABLE (may be empty).
set(CITYNET_GIT_COMMIT "unknown")
if(GIT_EXECUTABLE)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _commit_rc ERROR_QUIET)
  if(_commit_rc EQUAL 0)
    set(CITYNET_GIT_COMMIT ${_commit})
  endif()
endif()
set(PROJECT_VERSION ${VERSION})
configure_file(${SOURCE_DIR}/sim/core/version.hpp.in ${OUTPUT} @ONLY)
