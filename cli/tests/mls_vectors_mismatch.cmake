# cmake -DMLS_VECTORS=... -DSOURCE=.../transcript-hashes.json -DWORK=dir -P this: a copy of
# SOURCE, made here, with one byte of the first confirmed_transcript_hash_after changed, must
# make mls-vectors report a failed case and exit non-zero; so must a missing file and a file
# name that is no vector kind.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
file(READ ${SOURCE} text)
set(key "\"confirmed_transcript_hash_after\": \"")
string(FIND "${text}" "${key}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${SOURCE} has no ${key}")
endif()
string(LENGTH "${key}" key_length)
math(EXPR at "${at} + ${key_length}")
# Flip the low bit of the first hex digit: one byte of the expected hash changes.
string(SUBSTRING "${text}" ${at} 1 digit)
set(from "0123456789abcdef")
set(to "1032547698badcfe")
string(FIND "${from}" "${digit}" index)
if(index EQUAL -1)
  message(FATAL_ERROR "not a hex digit: ${digit}")
endif()
string(SUBSTRING "${to}" ${index} 1 flipped)
string(SUBSTRING "${text}" 0 ${at} before)
math(EXPR after_at "${at} + 1")
string(SUBSTRING "${text}" ${after_at} -1 after)
file(WRITE ${WORK}/transcript-hashes.json "${before}${flipped}${after}")

execute_process(COMMAND ${MLS_VECTORS} ${WORK}/transcript-hashes.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "mls-vectors passed a file with a changed expected value")
endif()
if(NOT out MATCHES " 1 failed," OR NOT out MATCHES "confirmed_transcript_hash_after: got ")
  message(FATAL_ERROR "mls-vectors did not report the one changed case")
endif()

execute_process(COMMAND ${MLS_VECTORS} ${WORK}/missing/tree-math.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "cannot open")
  message(FATAL_ERROR "mls-vectors on a missing file: exit ${rc}, ${err}")
endif()

file(WRITE ${WORK}/not-a-kind.json "[]")
execute_process(COMMAND ${MLS_VECTORS} ${WORK}/not-a-kind.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "mls-vectors accepted a file that is no vector kind")
endif()

file(WRITE ${WORK}/bad/tree-math.json "[{")
execute_process(COMMAND ${MLS_VECTORS} ${WORK}/bad/tree-math.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "not valid JSON")
  message(FATAL_ERROR "mls-vectors on invalid JSON: exit ${rc}, ${err}")
endif()
