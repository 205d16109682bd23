# cmake -DPEER=... -DNODE=... -DWORK=dir -P this: openpgp-peer (lib/openpgp) and OpenPGP.js (an
# independent implementation, driven by openpgpjs_peer.mjs beside this file) write to each
# other, each side checking what the other wrote.
#
# Keys: alice (openpgp-peer, advertises SEIPD v2), bob (OpenPGP.js, SEIPD v2), carol
# (OpenPGP.js, SEIPD v1 only). Messages, each signed by its sender and checked by the reader
# against the sender's public key: openpgp-peer to bob (SEIPD v2) and to carol (SEIPD v1,
# compressed); OpenPGP.js to alice (SEIPD v2; from carol, compressed), to alice and carol
# together (SEIPD v1), with anonymous recipients both ways, and 40 KiB texts; and messages
# under a password both ways. A message with one byte changed, or a wrong password, must be
# refused by both. Any difference is a fatal error.
set(here ${CMAKE_CURRENT_LIST_DIR})
set(js_peer ${here}/openpgpjs_peer.mjs)

if(NOT EXISTS "${NODE}")
  message(FATAL_ERROR "node (Node.js) was not found: install it (scripts/install-deps.sh)")
endif()
if(NOT EXISTS ${here}/node_modules/openpgp/package.json)
  message(FATAL_ERROR "OpenPGP.js is not installed: run `npm ci` in tests/interop/openpgp "
                      "(scripts/install-deps.sh does it)")
endif()
file(READ ${here}/node_modules/openpgp/package.json js_package)
string(JSON js_version GET "${js_package}" version)
file(READ ${here}/package.json our_package)
string(JSON js_pinned GET "${our_package}" dependencies openpgp)
if(NOT js_version STREQUAL js_pinned)
  message(FATAL_ERROR "node_modules holds openpgp ${js_version}, package.json pins ${js_pinned}: "
                      "run `npm ci` in tests/interop/openpgp")
endif()
message(STATUS "OpenPGP.js ${js_version}")

file(REMOVE_RECURSE ${WORK})
foreach(who alice bob carol)
  file(MAKE_DIRECTORY ${WORK}/${who})
endforeach()

# side(WHO RC OUT args...): runs openpgp-peer (WHO "sotto") or OpenPGP.js (WHO "js") in WORK,
# expects exit RC, leaves stdout in OUT.
function(side who want_rc out_var)
  if(who STREQUAL "sotto")
    set(command ${PEER})
  else()
    set(command ${NODE} ${js_peer})
  endif()
  execute_process(COMMAND ${command} ${ARGN} WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "${who}: ${shown} -> ${rc}\n${out}${err}")
  if(NOT rc EQUAL want_rc)
    message(FATAL_ERROR "${who} ${shown}: exit ${rc}, want ${want_rc}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# round(WRITER READER READER_DIR SEIPD TEXT SENDER_DIR FILE flags-and-recipients...)
function(round writer reader reader_dir seipd text sender_dir file)
  side(${writer} 0 ignored encrypt ${sender_dir} ${file} "${text}" ${ARGN})
  side(${reader} 0 out decrypt ${reader_dir} ${file} ${sender_dir}/public.asc)
  set(want "seipd: ${seipd}\nsignature: valid\ntext: ${text}\n")
  if(NOT out STREQUAL want)
    message(FATAL_ERROR "${reader} read ${file} as\n${out}\nwant\n${want}")
  endif()
endfunction()

side(sotto 0 ignored gen alice alice@example.org)
side(js 0 ignored gen bob bob@example.org)
side(js 0 ignored gen carol carol@example.org --v1)

round(sotto js bob 2 "Hello Bob, from lib/openpgp" alice to-bob.asc bob/public.asc)
round(sotto js carol 1 "Hello Carol, compressed" alice to-carol.asc --compress carol/public.asc)
round(js sotto alice 2 "Hello Alice, from OpenPGP.js" bob from-bob.asc alice/public.asc)
round(js sotto alice 2 "Hello Alice, from Carol" carol from-carol.asc --compress alice/public.asc)
round(js sotto alice 1 "Hello Alice and Carol" bob to-both.asc alice/public.asc carol/public.asc)
round(js sotto alice 2 "Who is this for?" bob anonymous-to-alice.asc --anonymous alice/public.asc)
round(sotto js bob 2 "Guess who" alice anonymous-to-bob.asc --anonymous bob/public.asc)
# 40 KiB: several SEIPD v2 chunks, and the writers' long-packet framing.
string(REPEAT "0123456789abcdef" 2560 long)
round(sotto js bob 2 "${long}" alice long-to-bob.asc bob/public.asc)
round(js sotto alice 2 "${long}" bob long-to-alice.asc alice/public.asc)
round(js sotto alice 1 "${long}" bob long-to-both.asc alice/public.asc carol/public.asc)

# Under a password (SecureJoin v3's symmetric steps): a v6 SKESK and SEIPD v2 each way, signed
# (lib/openpgp's salted S2K, OpenPGP.js's iterated one), and unsigned; a wrong password is
# refused by both.
set(secret "securejoin/0123456789ABCDEF0123456789ABCDEF01234567/sQ8-x_9")
# password_round(WRITER READER STATUS TEXT SENDER_DIR FILE [--unsigned])
function(password_round writer reader status text sender_dir file)
  side(${writer} 0 ignored encrypt-password ${sender_dir} ${file} "${text}" "${secret}" ${ARGN})
  side(${reader} 0 out decrypt-password ${file} "${secret}" ${sender_dir}/public.asc)
  set(want "seipd: 2\nsignature: ${status}\ntext: ${text}\n")
  if(NOT out STREQUAL want)
    message(FATAL_ERROR "${reader} read ${file} as\n${out}\nwant\n${want}")
  endif()
  side(${reader} 1 ignored decrypt-password ${file} "${secret}x" ${sender_dir}/public.asc)
endfunction()
password_round(sotto js valid "Secure-Join: vc-pubkey" alice password-from-alice.asc)
password_round(js sotto valid "Secure-Join: vc-pubkey" bob password-from-bob.asc)
password_round(sotto js unsigned "Secure-Join: vc-request-pubkey" alice password-unsigned.asc
               --unsigned)
password_round(js sotto valid "${long}" bob password-long.asc)

# One changed base64 character near the end of the encrypted data must be refused by both readers.
foreach(pair "js;bob;to-bob.asc" "sotto;alice;from-bob.asc")
  list(GET pair 0 reader)
  list(GET pair 1 dir)
  list(GET pair 2 file)
  file(READ ${WORK}/${file} text)
  string(FIND "${text}" "\n-----END" end REVERSE)
  math(EXPR at "${end} - 30")
  string(SUBSTRING "${text}" ${at} 1 char)
  if(char STREQUAL "\n")
    math(EXPR at "${at} - 1")
    string(SUBSTRING "${text}" ${at} 1 char)
  endif()
  if(char STREQUAL "A")
    set(other "B")
  else()
    set(other "A")
  endif()
  string(SUBSTRING "${text}" 0 ${at} head)
  math(EXPR after "${at} + 1")
  string(SUBSTRING "${text}" ${after} -1 tail)
  file(WRITE ${WORK}/tampered-${file} "${head}${other}${tail}")
  side(${reader} 1 out decrypt ${dir} tampered-${file})
endforeach()
message(STATUS "lib/openpgp and OpenPGP.js ${js_version} agree")
