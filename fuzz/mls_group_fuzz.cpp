// Arbitrary bytes as a stored group state and as a message to a member of a fixed two-member
// group. Nothing may crash; a state that deserializes must serialize again; and a call that
// fails must leave the group as it was: process() is const and never changes it, a failed
// unprotect() consumes no key.
//
// The group is Bob's view of epoch 1 of a suite 3 group Alice made and added him to, written
// by mls_group_seeds together with fuzz/corpus/mls_group/ (Alice's messages in that epoch), so
// the seeds open. Commits cannot be made repeatable (the HPKE inside lib/crypto takes its own
// randomness), hence the state is pasted here rather than rebuilt.
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"

namespace {

using namespace sotto;

// mls_group_seeds' output; regenerate it with the corpus.
constexpr const char* kBobState =
#include "mls_group_state.inc"
    ;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "mls_group_fuzz: %s\n", what);
  std::abort();
}

struct Fixture {
  mls::Group bob;
  Bytes state;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    auto bytes = from_hex(kBobState);
    if (!bytes.ok()) fail("bad hex in kBobState");
    auto bob = mls::Group::deserialize(*bytes);
    if (!bob.ok()) fail("kBobState does not deserialize");
    Bytes state = bob->serialize();
    if (!constant_time_equal(state, *bytes)) fail("kBobState does not serialize back to itself");
    return Fixture{std::move(bob).value(), std::move(state)};
  }();
  return f;
}

void expect_unchanged(const mls::Group& group, const Bytes& state, const char* after) {
  if (!constant_time_equal(group.serialize(), state)) {
    std::fprintf(stderr, "mls_group_fuzz: the group changed after %s\n", after);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& f = fixture();
  const BytesView input(data, size);

  // (a) a stored state.
  if (auto restored = mls::Group::deserialize(input); restored.ok()) {
    const Bytes again = restored->serialize();
    (void)again;
  }

  // (b) a message to Bob.
  auto message = tls::decode<mls::MlsMessage>(input);
  if (!message.ok()) return 0;
  auto next = f.bob.process(*message);
  (void)next;
  expect_unchanged(f.bob, f.state, "process()");

  mls::Group bob = f.bob;
  if (!bob.unprotect(*message).ok()) expect_unchanged(bob, f.state, "a failed unprotect()");
  expect_unchanged(f.bob, f.state, "unprotect() on a copy");
  return 0;
}
