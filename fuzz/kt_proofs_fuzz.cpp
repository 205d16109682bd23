// Arbitrary bytes as each key-transparency proof and head a server or a peer sends: signed
// tree heads, lookup and history proofs, epoch audits, gossiped heads, log inclusion and
// consistency proofs, witness cosignatures. Decoding must never crash and must be canonical
// (what decodes re-encodes to the input). Whatever decodes is then verified against a fixed
// directory whose true contents at every epoch are known (kt_proofs_fixture.h): a verifier
// may reject anything, but what it accepts must say exactly what the genuine proofs say.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "kt_proofs_fixture.h"
#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/kt/directory_proofs.h"
#include "sotto/kt/log_tree.h"
#include "sotto/kt/prefix_tree.h"
#include "sotto/kt/verifier.h"
#include "sotto/kt/witness.h"

namespace {

using namespace sotto;
using namespace sotto::fuzz;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "kt_proofs_fuzz: %s\n", what.c_str());
  std::abort();
}

const KtFixture& fixture() {
  static const KtFixture* f = new KtFixture();  // built once, never destroyed
  return *f;
}

template <class T>
std::optional<T> decode_canonical(const char* what, BytesView input) {
  auto decoded = tls::decode<T>(input);
  if (!decoded.ok()) return std::nullopt;
  const Bytes again = tls::encode(*decoded);
  if (!constant_time_equal(again, input)) {
    fail(std::string(what) + " does not re-encode to its input\n  input:  " + to_hex(input) +
         "\n  output: " + to_hex(again));
  }
  return std::move(decoded).value();
}

// An accepted head must be the genuine head of its epoch.
void check_genuine_head(const char* what, const kt::SignedTreeHead& head) {
  const KtFixture& f = fixture();
  if (head.epoch < 1 || head.epoch > f.heads.size() || !(head == f.heads[head.epoch - 1])) {
    fail(std::string(what) + " accepted a head that the directory did not publish, epoch " +
         std::to_string(head.epoch));
  }
}

// Verifiers to run a proof through: one that holds nothing, one that holds epoch 1.
std::vector<kt::Verifier> verifiers() {
  const KtFixture& f = fixture();
  std::vector<kt::Verifier> out(2);
  if (!out[1].advance(f.heads[0], {}, f.keys.signing_public_key).ok()) fail("fixture: advance");
  return out;
}

// A verifier that needs the fixture's witness: only the newest head is cosigned.
kt::Verifier witnessed_verifier() {
  kt::VerifierPolicy policy;
  policy.witness_keys = {fixture().witness.public_key()};
  policy.witness_threshold = 1;
  auto v = kt::Verifier::create(policy);
  if (!v.ok()) fail("fixture: witness policy");
  return std::move(v).value();
}

template <class Proof>
void check_witnessed(const char* what, const Proof& proof, bool accepted) {
  if (accepted && !(proof.head == fixture().heads.back())) {
    fail(std::string(what) + " accepted a head its witness did not cosign");
  }
}

void check_head(BytesView input) {
  auto head = decode_canonical<kt::SignedTreeHead>("SignedTreeHead", input);
  if (!head) return;
  if (kt::verify_tree_head(*head, fixture().keys.signing_public_key).ok()) {
    check_genuine_head("verify_tree_head", *head);
  }
}

void check_lookup(BytesView input) {
  auto proof = decode_canonical<kt::LookupProof>("LookupProof", input);
  if (!proof) return;
  for (const char* label : kLabels) {
    for (kt::Verifier& v : verifiers()) {
      auto result = v.verify_lookup(as_bytes(label), *proof, fixture().keys);
      if (!result.ok() && result.error().code() != Errc::not_found) continue;
      check_genuine_head("verify_lookup", proof->head);
      const auto expected = truth(label, proof->head.epoch);
      if (!result.ok()) {
        if (!expected.empty()) fail(std::string("verify_lookup: ") + label + " shown absent");
        continue;
      }
      if (expected.empty() || result->version != expected.back().first ||
          result->value != expected.back().second || result->epoch != proof->head.epoch) {
        fail(std::string("verify_lookup accepted a wrong value for ") + label);
      }
      if (!(v.head() == std::optional(proof->head))) fail("verify_lookup: state not advanced");
    }
    kt::Verifier witnessed = witnessed_verifier();
    auto result = witnessed.verify_lookup(as_bytes(label), *proof, fixture().keys);
    check_witnessed("verify_lookup (witnessed)", *proof,
                    result.ok() || result.error().code() == Errc::not_found);
  }
}

void check_history(BytesView input) {
  auto proof = decode_canonical<kt::HistoryProof>("HistoryProof", input);
  if (!proof) return;
  for (const char* label : kLabels) {
    for (kt::Verifier& v : verifiers()) {
      auto result = v.verify_history(as_bytes(label), *proof, fixture().keys);
      if (!result.ok()) continue;
      check_genuine_head("verify_history", proof->head);
      const auto expected = truth(label, proof->head.epoch);
      bool same = result->size() == expected.size();
      for (size_t i = 0; same && i < expected.size(); ++i) {
        same =
            (*result)[i].version == expected[i].first && (*result)[i].value == expected[i].second;
      }
      if (!same) fail(std::string("verify_history accepted a wrong history for ") + label);
    }
    kt::Verifier witnessed = witnessed_verifier();
    check_witnessed("verify_history (witnessed)", *proof,
                    witnessed.verify_history(as_bytes(label), *proof, fixture().keys).ok());
  }
}

void check_audit(BytesView input) {
  auto audit = decode_canonical<kt::EpochAudit>("EpochAudit", input);
  if (!audit) return;
  auto added = kt::verify_epoch_audit(*audit, fixture().keys.signing_public_key);
  if (!added.ok()) return;
  const uint64_t epoch = audit->new_head.epoch;
  check_genuine_head("verify_epoch_audit", audit->new_head);
  if (audit->old_head) check_genuine_head("verify_epoch_audit (old head)", *audit->old_head);
  if (audit->old_head.has_value() != (epoch > 1) ||
      (audit->old_head && audit->old_head->epoch + 1 != epoch)) {
    fail("verify_epoch_audit accepted an audit of more or less than one epoch");
  }
  if (*added != changes_in(epoch)) {
    fail("verify_epoch_audit accepted " + std::to_string(*added) + " changes for epoch " +
         std::to_string(epoch) + ", which had " + std::to_string(changes_in(epoch)));
  }
}

void check_gossip(BytesView input) {
  auto gossip = decode_canonical<GossipInput>("GossipInput", input);
  if (!gossip) return;
  const KtFixture& f = fixture();
  for (kt::Verifier& v : verifiers()) {
    if (v.compare_heads(gossip->head, gossip->consistency, f.keys.signing_public_key).ok()) {
      check_genuine_head("compare_heads", gossip->head);
    }
    if (v.advance(gossip->head, gossip->consistency, f.keys.signing_public_key).ok()) {
      check_genuine_head("advance", gossip->head);
    }
  }
}

// Gossip as it arrives inside a message: the compact encoding, then the exchange with the
// genuine consistency proof. A fork can never be found in one honest directory's heads.
void check_gossip_bytes(BytesView input) {
  auto head = kt::decode_gossip(input);
  if (!head.ok()) return;
  auto again = kt::encode_gossip(*head);
  if (!again.ok() || !constant_time_equal(*again, input)) fail("gossip does not re-encode");
  const KtFixture& f = fixture();
  for (kt::Verifier& v : verifiers()) {
    auto check = v.receive_gossip(input, f.keys.signing_public_key);
    if (!check.ok()) {
      if (check.error().code() == Errc::split_view) fail("receive_gossip: a fork in honest heads");
      continue;
    }
    check_genuine_head("receive_gossip", check->peer);
    if (!check->request) continue;
    auto proof = f.consistency(check->request->old_size, check->request->new_size);
    auto done = v.complete_gossip(check->peer, proof, f.keys.signing_public_key);
    if (!done.ok()) fail("complete_gossip refused a genuine proof: " + done.error().to_string());
    if (v.split_view_evidence()) fail("gossip recorded evidence against an honest directory");
  }
}

void check_log_inclusion(BytesView input) {
  auto in = decode_canonical<LogInclusionInput>("LogInclusionInput", input);
  if (!in) return;
  const KtFixture& f = fixture();
  const uint64_t n = kLogLeaves;
  if (in->tree_size == 0 || in->tree_size > n || in->leaf_index >= in->tree_size) {
    // Out of the log's range: only that nothing breaks.
    (void)kt::verify_inclusion(f.leaves[in->leaf_index % n], in->leaf_index, in->tree_size,
                               in->proof, f.roots[n]);
    return;
  }
  const auto& root = f.roots[in->tree_size];
  if (kt::verify_inclusion(f.leaves[in->leaf_index], in->leaf_index, in->tree_size, in->proof, root)
          .ok()) {
    if (in->proof != f.log->inclusion_proof(in->leaf_index, in->tree_size).value()) {
      fail("verify_inclusion accepted a proof that is not the genuine one");
    }
  }
  // Another leaf at this index: never.
  const uint64_t other = (in->leaf_index + 1) % in->tree_size;
  if (other != in->leaf_index &&
      kt::verify_inclusion(f.leaves[other], in->leaf_index, in->tree_size, in->proof, root).ok()) {
    fail("verify_inclusion accepted leaf " + std::to_string(other) + " at index " +
         std::to_string(in->leaf_index));
  }
}

void check_log_consistency(BytesView input) {
  auto in = decode_canonical<LogConsistencyInput>("LogConsistencyInput", input);
  if (!in) return;
  const KtFixture& f = fixture();
  const uint64_t n = kLogLeaves;
  if (in->size1 == 0 || in->size1 > in->size2 || in->size2 > n) {
    (void)kt::verify_consistency(in->size1, in->size2, in->proof, f.roots[in->size1 % (n + 1)],
                                 f.roots[in->size2 % (n + 1)]);
    return;
  }
  if (kt::verify_consistency(in->size1, in->size2, in->proof, f.roots[in->size1],
                             f.roots[in->size2])
          .ok()) {
    if (in->proof != f.log->consistency_proof(in->size1, in->size2).value()) {
      fail("verify_consistency accepted a proof that is not the genuine one");
    }
  }
  // A root the log never had at size1: never consistent.
  const auto& wrong = f.roots[in->size1 == 1 ? 2 : in->size1 - 1];
  if (kt::verify_consistency(in->size1, in->size2, in->proof, wrong, f.roots[in->size2]).ok()) {
    fail("verify_consistency accepted a wrong old root");
  }
}

void check_prefix_proof(BytesView input) {
  auto proof = decode_canonical<kt::PrefixProof>("PrefixProof", input);
  if (!proof) return;
  kt::PrefixIndex index{};
  if (!proof->siblings.empty() && proof->siblings[0].size() >= kt::kIndexSize) {
    std::copy_n(proof->siblings[0].begin(), kt::kIndexSize, index.begin());
  }
  (void)kt::prefix_proof_root(index, *proof);
}

void check_cosignature(BytesView input) {
  auto cosignature = decode_canonical<kt::Cosignature>("Cosignature", input);
  if (!cosignature) return;
  const KtFixture& f = fixture();
  const std::vector<kt::Cosignature> cosignatures{*cosignature};
  const std::vector<Bytes> trusted{f.witness.public_key()};
  if (kt::verify_cosignatures(f.heads.back(), cosignatures, trusted, 1).ok() &&
      !(*cosignature == f.cosignature)) {
    fail("verify_cosignatures accepted a cosignature that the witness did not make");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const BytesView input(data, size);
  check_head(input);
  check_lookup(input);
  check_history(input);
  check_audit(input);
  check_gossip(input);
  check_gossip_bytes(input);
  check_log_inclusion(input);
  check_log_consistency(input);
  check_prefix_proof(input);
  check_cosignature(input);
  (void)decode_canonical<kt::VerifierState>("VerifierState", input);
  return 0;
}
