// Arbitrary bytes as an MLSMessage, unprotected against one fixed epoch of a two-member
// group. Nothing may crash, and a message that fails to unprotect must leave the secret tree
// as it was: the group's own first proposal and application message (generation 0 of each
// of leaf 1's ratchets) must still open afterwards.
//
// The epoch is the suite 3 case of tests/vectors/mls/message-protection.json
// (mlswg/mls-implementations @ cfd450286d1bfd9cd2519b95c80f9771f94a5b1a test-vectors/,
// BSD-2-Clause); fuzz/corpus/mls_unprotect/ holds that case's five messages as seeds.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <variant>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/framing.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/secret_tree.h"

namespace {

using namespace sotto;

constexpr uint16_t kSuite = 0x0003;
constexpr const char* kGroupId = "fdbada2ddce02e7493673caab793308bdeb5cdb0558f151f647ab6e2ca0c63cf";
constexpr uint64_t kEpoch = 1184274;
constexpr const char* kTreeHash =
    "5ae6ee5f282786b753d55f15938248f6212c69b2f677319e5fcdb2ce0bfbf48a";
constexpr const char* kConfirmedTranscriptHash =
    "0ba35f0d36007bc44df41db074b9d98a1314e3c690cb345ceeae152fbe5b6afe";
constexpr const char* kSignaturePub =
    "b1d7f2e45d6c94fa8bff3b63308bbba38024c5b70c22234834ee24294b6e0a28";
constexpr const char* kEncryptionSecret =
    "ce02c4dd80a8ed57503e3a50ec11b926a549d65e840417c0635427a838b3cf29";
constexpr const char* kSenderDataSecret =
    "85fc31fac878dbe2850e30a8fa88bdc63dacd890756aade03433791b50a510f5";
constexpr const char* kMembershipKey =
    "82f73c829938c5d1a19e19de2b2c109214455ee6671cf918af426f364162678e";
constexpr const char* kProposalPriv =
    "0001000220fdbada2ddce02e7493673caab793308bdeb5cdb0558f151f647ab6e2ca0c63cf000000"
    "000012121202001cc15e1b90a18448376191078a6b66567941ce2472f110def1215eb1114058f9bf"
    "6e2c2dd19ff11b450ce94d9990ca3dbaf94edf8873c0f7cbf8feeefd362ac674b32d4c1c6ca646b8"
    "282fec7aaa51dcdd402345792aa77d98eaa97da5bf13969e44845f33114c10e1edd765d1c7380597"
    "57570366687b";
constexpr const char* kApplicationPriv =
    "0001000220fdbada2ddce02e7493673caab793308bdeb5cdb0558f151f647ab6e2ca0c63cf000000"
    "000012121201001c22d286c12043af1e8093bd213bf707b9b675ee98a171d0eeb206de91407d9d09"
    "9e17b2aa1de37065098feb8efa598721128ec5bada3a6a07e06123eb61ced1dd265a0e7468f05f39"
    "b549ede80606f4795425de91acaee0b0bd840d0eabd284ae30adf04a5bf97027180836adee120363"
    "6c2cfd36f477747e9f0549dc99f5b3ef3a3db4f4def426625757365cf871061383a6dbd516127a11"
    "f83cc4";

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "mls_unprotect_fuzz: %s\n", what);
  std::abort();
}

Bytes hex(const char* text) {
  auto bytes = from_hex(text);
  if (!bytes.ok()) fail("bad hex constant");
  return std::move(bytes).value();
}

struct Group {
  crypto::CipherSuite suite;
  mls::FramingKeys keys;
  Bytes encryption_secret;
  mls::SignatureKeyLookup lookup;
  mls::MlsMessage proposal;
  mls::MlsMessage application;

  mls::SecretTree fresh_tree() const {
    auto leaves = mls::LeafCount::exactly(2);
    if (!leaves.ok()) fail("leaf count");
    auto tree = mls::SecretTree::create(suite, *leaves, encryption_secret);
    if (!tree.ok()) fail("secret tree");
    return std::move(tree).value();
  }
};

const Group& group() {
  static const Group g = [] {
    auto suite = crypto::CipherSuite::create(kSuite);
    if (!suite.ok()) fail("suite 3 unavailable");
    mls::FramingKeys keys;
    keys.group_context.cipher_suite = static_cast<mls::CipherSuiteId>(kSuite);
    keys.group_context.group_id = hex(kGroupId);
    keys.group_context.epoch = kEpoch;
    keys.group_context.tree_hash = hex(kTreeHash);
    keys.group_context.confirmed_transcript_hash = hex(kConfirmedTranscriptHash);
    keys.membership_key = SecureBytes(hex(kMembershipKey));
    keys.sender_data_secret = SecureBytes(hex(kSenderDataSecret));
    const Bytes signature_pub = hex(kSignaturePub);
    auto proposal = tls::decode<mls::MlsMessage>(hex(kProposalPriv));
    auto application = tls::decode<mls::MlsMessage>(hex(kApplicationPriv));
    if (!proposal.ok() || !application.ok()) fail("embedded messages do not decode");
    return Group{std::move(suite).value(),
                 std::move(keys),
                 hex(kEncryptionSecret),
                 [signature_pub](const mls::Sender& sender) -> std::optional<Bytes> {
                   const auto* member = std::get_if<mls::MemberSender>(&sender.content);
                   if (member != nullptr && member->leaf_index.value == 1) return signature_pub;
                   return std::nullopt;
                 },
                 std::move(proposal).value(),
                 std::move(application).value()};
  }();
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Group& g = group();
  auto message = tls::decode<mls::MlsMessage>(BytesView(data, size));
  if (!message.ok()) return 0;
  mls::SecretTree tree = g.fresh_tree();
  if (mls::unprotect(g.suite, g.keys, tree, *message, g.lookup).ok()) return 0;
  // Failed: no key may have been consumed.
  if (!mls::unprotect(g.suite, g.keys, tree, g.proposal, g.lookup).ok()) {
    fail("a failed unprotect consumed the handshake key of generation 0");
  }
  if (!mls::unprotect(g.suite, g.keys, tree, g.application, g.lookup).ok()) {
    fail("a failed unprotect consumed the application key of generation 0");
  }
  return 0;
}
