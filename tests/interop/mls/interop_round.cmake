# cmake -DMLS_PEER=... -DNODE=... -DSUITE=1|3 -DWORK=dir -P this: mls-peer and ts-mls (an
# independent TypeScript implementation of RFC 9420, driven by ts_mls_peer.mjs beside this
# file) in one group, once with mls-peer creating it and once with ts-mls creating it.
#
# A round, creator C and joiner J: J makes a KeyPackage; C creates a group, adds it, and writes
# the Welcome (with the ratchet_tree extension) and an application message; J joins and reads
# it. Both must then print the group id, epoch, epoch authenticator and
# MLS-Exporter("interop", "", 32) that C wrote to expected.json. J and C write to each other;
# J commits (an empty commit, with an UpdatePath) and C follows; C writes in the new epoch;
# then C commits and J follows, and J writes. After each commit both sides must print the same
# epoch values, new ones. Last, a message with one byte changed and a replay must be refused.
#
# Every check compares texts or bytes the two sides printed; any difference is a fatal error.
set(here ${CMAKE_CURRENT_LIST_DIR})
set(ts_peer ${here}/ts_mls_peer.mjs)

if(NOT EXISTS "${NODE}")
  message(FATAL_ERROR "node (Node.js) was not found: install it (scripts/install-deps.sh)")
endif()
if(NOT EXISTS ${here}/node_modules/ts-mls/package.json)
  message(FATAL_ERROR "ts-mls is not installed: run `npm ci` in tests/interop/mls "
                      "(scripts/install-deps.sh does it)")
endif()
file(READ ${here}/node_modules/ts-mls/package.json ts_mls_package)
string(JSON ts_mls_version GET "${ts_mls_package}" version)
file(READ ${here}/package.json our_package)
string(JSON ts_mls_pinned GET "${our_package}" dependencies ts-mls)
if(NOT ts_mls_version STREQUAL ts_mls_pinned)
  message(FATAL_ERROR "node_modules holds ts-mls ${ts_mls_version}, package.json pins "
                      "${ts_mls_pinned}: run `npm ci` in tests/interop/mls")
endif()
message(STATUS "ts-mls ${ts_mls_version}, suite ${SUITE}")

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# side(SIDE RC OUT args...): runs mls-peer (SIDE "mls") or ts-mls (SIDE "ts") with args,
# expects exit RC, leaves stdout+stderr in OUT.
function(side who want_rc out_var)
  if(who STREQUAL "mls")
    set(command ${MLS_PEER})
  else()
    set(command ${NODE} ${ts_peer})
  endif()
  execute_process(COMMAND ${command} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "${who}: ${shown} -> ${rc}\n${out}${err}")
  if(NOT rc EQUAL want_rc)
    message(FATAL_ERROR "${who} ${shown}: exit ${rc}, want ${want_rc}")
  endif()
  set(${out_var} "${out}${err}" PARENT_SCOPE)
endfunction()

function(expect_match text pattern what)
  string(FIND "${text}" "${pattern}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${what}: \"${pattern}\" not in:\n${text}")
  endif()
endfunction()

# field(OUT text key): the value of the one line "key: value" in text.
function(field out_var text key)
  string(REGEX MATCHALL "(^|\n)${key}: [^\n]*" lines "${text}")
  list(LENGTH lines count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "want one \"${key}:\" line, have ${count} in:\n${text}")
  endif()
  string(REGEX REPLACE "^\n?${key}: " "" value "${lines}")
  set(${out_var} "${value}" PARENT_SCOPE)
endfunction()

# expect_epoch(text epoch authenticator exporter what): the epoch lines of one side's output.
function(expect_epoch text epoch authenticator exporter what)
  foreach(pair "epoch;${epoch}" "epoch_authenticator;${authenticator}" "exporter;${exporter}")
    list(GET pair 0 key)
    list(GET pair 1 want)
    field(have "${text}" ${key})
    if(NOT have STREQUAL want)
      message(FATAL_ERROR "${what}: ${key} is ${have}, the other side has ${want}")
    endif()
  endforeach()
endfunction()

function(expect_hex value length what)
  string(LENGTH "${value}" have)
  if(NOT have EQUAL length OR NOT value MATCHES "^[0-9a-f]+$")
    message(FATAL_ERROR "${what}: \"${value}\" is not ${length} hex digits")
  endif()
endfunction()

# The first line of a send or commit's output: the file it wrote.
function(written_file out_var text what)
  string(REGEX MATCH "^[^\n]*" path "${text}")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "${what} printed no file: ${text}")
  endif()
  set(${out_var} "${path}" PARENT_SCOPE)
endfunction()

# commit_and_follow(COMMITTER FOLLOWER committer_dir follower_dir epoch): an empty commit by
# one side, processed by the other; both must print the same new epoch, whose authenticator is
# not ${last_authenticator}, the one of the epoch before. Sets last_authenticator.
function(commit_and_follow committer follower committer_dir follower_dir epoch)
  side(${committer} 0 out commit ${committer_dir})
  written_file(commit_file "${out}" "${committer} commit")
  field(authenticator "${out}" epoch_authenticator)
  field(exporter "${out}" exporter)
  expect_hex("${authenticator}" 64 "${committer} commit: epoch_authenticator")
  expect_hex("${exporter}" 64 "${committer} commit: exporter")
  expect_epoch("${out}" ${epoch} ${authenticator} ${exporter} "${committer} commit")
  if(authenticator STREQUAL last_authenticator)
    message(FATAL_ERROR "${committer}'s commit left the epoch authenticator as it was")
  endif()
  side(${follower} 0 out recv ${follower_dir} ${commit_file})
  expect_match("${out}" "commit: epoch ${epoch}\n" "${follower} recv of ${committer}'s commit")
  expect_epoch("${out}" ${epoch} ${authenticator} ${exporter}
               "${follower} after ${committer}'s commit")
  set(last_authenticator ${authenticator} PARENT_SCOPE)
endfunction()

# message_to(SENDER RECEIVER sender_dir receiver_dir text): one application message.
function(message_to sender receiver sender_dir receiver_dir text)
  side(${sender} 0 out send ${sender_dir} "${text}")
  written_file(app "${out}" "${sender} send")
  side(${receiver} 0 out recv ${receiver_dir} ${app})
  expect_match("${out}" "message: ${text}\n" "${receiver} recv of ${sender}'s message")
endfunction()

function(round creator joiner)
  set(dir ${WORK}/${creator}-creates)
  set(c ${dir}/creator-${creator})
  set(j ${dir}/joiner-${joiner})
  message(STATUS "---- ${creator} creates the group, ${joiner} joins (suite ${SUITE})")

  side(${joiner} 0 out gen-kp ${j} ${SUITE} ${joiner}-joiner)
  side(${creator} 0 out create-add ${c} ${j}/key_package.mls ${SUITE}
       "hello from ${creator}")
  foreach(f commit.mls welcome.mls app.mls expected.json)
    if(NOT EXISTS ${c}/${f})
      message(FATAL_ERROR "${creator} create-add wrote no ${f}")
    endif()
  endforeach()
  file(READ ${c}/expected.json expected)
  foreach(key epoch_authenticator exporter group_id epoch text)
    string(JSON ${key} GET "${expected}" ${key})
  endforeach()
  if(NOT epoch EQUAL 1 OR NOT text STREQUAL "hello from ${creator}")
    message(FATAL_ERROR "${creator}'s expected.json: epoch ${epoch}, text ${text}")
  endif()
  expect_hex("${epoch_authenticator}" 64 "${creator}'s expected.json: epoch_authenticator")
  expect_hex("${exporter}" 64 "${creator}'s expected.json: exporter")
  expect_hex("${group_id}" 32 "${creator}'s expected.json: group_id")
  # What the creator printed is what it wrote.
  field(printed "${out}" group_id)
  expect_epoch("${out}" 1 ${epoch_authenticator} ${exporter} "${creator} create-add")
  if(NOT printed STREQUAL group_id)
    message(FATAL_ERROR "${creator} create-add printed group_id ${printed}, wrote ${group_id}")
  endif()

  # The joiner: the Welcome alone (its tree from the ratchet_tree extension), then the message.
  side(${joiner} 0 out join ${j} ${c}/welcome.mls ${c}/app.mls)
  expect_match("${out}" "message: hello from ${creator}\n" "${joiner} join")
  field(joined_group "${out}" group_id)
  if(NOT joined_group STREQUAL group_id)
    message(FATAL_ERROR "${joiner} joined group ${joined_group}, ${creator} made ${group_id}")
  endif()
  expect_epoch("${out}" 1 ${epoch_authenticator} ${exporter} "${joiner} join")

  message_to(${joiner} ${creator} ${j} ${c} "reply from ${joiner}")
  message_to(${creator} ${joiner} ${c} ${j} "second from ${creator}")

  set(last_authenticator ${epoch_authenticator})
  commit_and_follow(${joiner} ${creator} ${j} ${c} 2)
  message_to(${creator} ${joiner} ${c} ${j} "epoch 2 from ${creator}")
  commit_and_follow(${creator} ${joiner} ${c} ${j} 3)
  message_to(${joiner} ${creator} ${j} ${c} "epoch 3 from ${joiner}")

  # The checks can fail: a message with one ciphertext byte changed is refused, and the
  # receiver's state is left as it was (the untouched message still opens).
  message_to(${creator} ${joiner} ${c} ${j} "last from ${creator}")
  side(${creator} 0 out send ${c} "tampered by the test")
  written_file(app "${out}" "${creator} send")
  file(READ ${app} wire HEX)
  string(LENGTH "${wire}" hex_length)
  math(EXPR at "${hex_length} - 2")
  string(SUBSTRING "${wire}" ${at} 2 last_byte)
  if(last_byte STREQUAL "00")
    set(flipped "01")
  else()
    set(flipped "00")
  endif()
  string(SUBSTRING "${wire}" 0 ${at} head)
  set(tampered ${app}.tampered)
  # CMake cannot write arbitrary bytes; node turns the hex back into a file.
  set(unhex "require('fs').writeFileSync(process.argv[1], Buffer.from(process.argv[2], 'hex'))")
  execute_process(COMMAND ${NODE} -e ${unhex} ${tampered} "${head}${flipped}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "could not write ${tampered}")
  endif()
  side(${joiner} 1 out recv ${j} ${tampered})
  side(${joiner} 0 out recv ${j} ${app})
  expect_match("${out}" "message: tampered by the test\n" "${joiner} recv after a refused message")
  # A replay is refused: the key of that generation is used up.
  side(${joiner} 1 out recv ${j} ${app})
endfunction()

round(mls ts)
round(ts mls)
