// The vector files of the building blocks: tree math, varint headers, the labelled crypto
// operations, the secret tree, the key schedule, the PSK combiner and the transcript hashes.
#include <optional>
#include <string>
#include <vector>

#include "case_check.h"
#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/key_schedule.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/secret_tree.h"
#include "sotto/mls/tree_math.h"

namespace sotto::mls::testing {

using crypto::CipherSuite;

namespace {

// ---- tree-math.json: root, and left, right, parent and sibling of every node, null where
// the relative does not exist.

std::optional<NodeIndex> expected_node(const Json& value) {
  if (value.is_null()) return std::nullopt;
  return NodeIndex{value.get<uint32_t>()};
}

std::string show(std::optional<NodeIndex> x) {
  return x ? std::to_string(x->value) : std::string("null");
}

bool check_tree_math_case(CaseCheck& c, const Json& tc) {
  const auto n = LeafCount::exactly(tc.at("n_leaves").get<uint32_t>());
  if (!c.succeeded(n, "n_leaves")) return false;
  const uint32_t width = node_width(*n);
  c.expect(width == tc.at("n_nodes").get<uint32_t>(), "node_width");
  c.expect(root(*n).value == tc.at("root").get<uint32_t>(), "root");
  const Json& lefts = tc.at("left");
  const Json& rights = tc.at("right");
  const Json& parents = tc.at("parent");
  const Json& siblings = tc.at("sibling");
  if (lefts.size() != width || rights.size() != width || parents.size() != width ||
      siblings.size() != width) {
    return c.fail("array lengths differ from n_nodes");
  }
  for (uint32_t i = 0; c.ok() && i < width; ++i) {
    const NodeIndex x{i};
    const auto check = [&](const char* what, std::optional<NodeIndex> got, const Json& want) {
      c.expect(got == expected_node(want), std::string(what) + "(" + std::to_string(i) +
                                               ") = " + show(got) + ", want " + want.dump());
    };
    check("left", left(x, *n), lefts[i]);
    check("right", right(x, *n), rights[i]);
    check("parent", parent(x, *n), parents[i]);
    check("sibling", sibling(x, *n), siblings[i]);
  }
  return c.ok();
}

// ---- deserialization.json: varint length headers (RFC 9420 section 2.1.2), decoded and
// re-encoded byte for byte.

bool check_deserialization_case(CaseCheck& c, const Json& tc) {
  const Bytes header = c.hex(tc, "vlbytes_header");
  const auto length = tc.at("length").get<uint64_t>();
  tls::Reader reader(header);
  const auto decoded = reader.varint();
  if (c.succeeded(decoded, "decode")) {
    c.expect(*decoded == length,
             "decoded length " + std::to_string(*decoded) + ", want " + std::to_string(length));
    c.succeeded(reader.expect_end(), "decode");
  }
  tls::Writer writer;
  writer.varint(length);
  c.expect(writer.ok(), "encode");
  c.same(writer.bytes(), header, "encoded header");
  return c.ok();
}

// ---- crypto-basics.json: the labelled operations of RFC 9420 section 5, each one case.

constexpr size_t kCryptoOperations = 6;

bool check_ref_hash(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  return c.same(suite.ref_hash(v.at("label").get<std::string>(), c.hex(v, "value")),
                c.hex(v, "out"), "ref_hash");
}

bool check_expand_with_label(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  const auto out = suite.expand_with_label(c.hex(v, "secret"), v.at("label").get<std::string>(),
                                           c.hex(v, "context"), v.at("length").get<size_t>());
  return c.succeeded(out, "expand_with_label") &&
         c.same(*out, c.hex(v, "out"), "expand_with_label");
}

bool check_derive_secret(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  const auto out = suite.derive_secret(c.hex(v, "secret"), v.at("label").get<std::string>());
  return c.succeeded(out, "derive_secret") && c.same(*out, c.hex(v, "out"), "derive_secret");
}

bool check_derive_tree_secret(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  const auto out =
      suite.derive_tree_secret(c.hex(v, "secret"), v.at("label").get<std::string>(),
                               v.at("generation").get<uint32_t>(), v.at("length").get<size_t>());
  return c.succeeded(out, "derive_tree_secret") &&
         c.same(*out, c.hex(v, "out"), "derive_tree_secret");
}

// Their signature verifies; ours verifies; Ed25519 is deterministic, so ours equals theirs.
bool check_sign_with_label(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  const std::string label = v.at("label").get<std::string>();
  const SecureBytes priv(c.hex(v, "priv"));
  const Bytes pub = c.hex(v, "pub");
  const Bytes content = c.hex(v, "content");
  const Bytes signature = c.hex(v, "signature");
  c.expect(suite.verify_with_label(pub, label, content, signature),
           "sign_with_label: the vector's signature does not verify");
  const auto ours = suite.sign_with_label(priv, label, content);
  if (!c.succeeded(ours, "sign_with_label")) return false;
  c.expect(suite.verify_with_label(pub, label, content, *ours),
           "sign_with_label: our signature does not verify");
  c.same(*ours, signature, "sign_with_label (Ed25519 is deterministic)");
  // A signature over other content, or under another label, must not verify.
  Bytes other = content;
  other.push_back(0);
  c.expect(!suite.verify_with_label(pub, label, other, signature) &&
               !suite.verify_with_label(pub, label + "x", content, signature),
           "sign_with_label: verified a signature over different content");
  return c.ok();
}

// The vector's ciphertext decrypts to its plaintext; our encryption decrypts back.
bool check_encrypt_with_label(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  const std::string label = v.at("label").get<std::string>();
  const SecureBytes priv(c.hex(v, "priv"));
  const Bytes pub = c.hex(v, "pub");
  const Bytes context = c.hex(v, "context");
  const Bytes plaintext = c.hex(v, "plaintext");
  const auto theirs = suite.decrypt_with_label(priv.view(), label, context, c.hex(v, "kem_output"),
                                               c.hex(v, "ciphertext"));
  if (!c.succeeded(theirs, "decrypt_with_label") ||
      !c.same(*theirs, plaintext, "decrypt_with_label")) {
    return false;
  }
  const auto sealed = suite.encrypt_with_label(pub, label, context, plaintext);
  if (!c.succeeded(sealed, "encrypt_with_label")) return false;
  const auto ours =
      suite.decrypt_with_label(priv.view(), label, context, sealed->kem_output, sealed->ciphertext);
  if (!c.succeeded(ours, "decrypt_with_label of our ciphertext") ||
      !c.same(*ours, plaintext, "decrypt_with_label of our ciphertext")) {
    return false;
  }
  // Another context must not decrypt.
  Bytes other = context;
  other.push_back(0);
  return c.expect(
      !suite.decrypt_with_label(priv.view(), label, other, sealed->kem_output, sealed->ciphertext)
           .ok(),
      "decrypt_with_label succeeded under a different context");
}

// ---- secret-tree.json (RFC 9420 section 9): the sender-data key and nonce, and the
// handshake and application key and nonce of each leaf at each listed generation.

bool check_key_nonce(CaseCheck& c, const Result<KeyAndNonce>& got, const Json& v,
                     const std::string& prefix, const std::string& where) {
  if (!c.succeeded(got, where + prefix)) return false;
  const bool key_ok = c.same(got->key, c.hex(v, prefix + "_key"), where + prefix + "_key");
  return c.same(got->nonce, c.hex(v, prefix + "_nonce"), where + prefix + "_nonce") && key_ok;
}

bool check_secret_tree_case(CaseCheck& c, const CipherSuite& suite, const Json& tc) {
  const Json& sd = tc.at("sender_data");
  const auto sender =
      sender_data_key_nonce(suite, c.hex(sd, "sender_data_secret"), c.hex(sd, "ciphertext"));
  if (c.succeeded(sender, "sender_data_key_nonce")) {
    c.same(sender->key, c.hex(sd, "key"), "sender data key");
    c.same(sender->nonce, c.hex(sd, "nonce"), "sender data nonce");
  }
  const Json& leaves = tc.at("leaves");
  const auto width = LeafCount::exactly(static_cast<uint32_t>(leaves.size()));
  if (!c.succeeded(width, "leaf count")) return false;
  auto tree = SecretTree::create(suite, *width, c.hex(tc, "encryption_secret"));
  if (!c.succeeded(tree, "secret tree")) return false;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const LeafIndex leaf{static_cast<uint32_t>(i)};
    for (const Json& step : leaves[i]) {
      const auto generation = step.at("generation").get<uint32_t>();
      const std::string where =
          "leaf " + std::to_string(i) + ", generation " + std::to_string(generation) + ": ";
      check_key_nonce(c, tree->get(leaf, RatchetType::handshake, generation), step, "handshake",
                      where);
      check_key_nonce(c, tree->get(leaf, RatchetType::application, generation), step, "application",
                      where);
    }
  }
  return c.ok();
}

// ---- key-schedule.json: RFC 9420 section 8, one case per epoch: its GroupContext, every
// epoch secret, external_pub and one exporter output, the next epoch chained from this
// epoch's init_secret.

// `init_secret` is the previous epoch's and becomes this epoch's.
bool check_epoch(CaseCheck& c, const CipherSuite& suite, const Bytes& group_id, uint64_t epoch,
                 const Json& v, SecureBytes& init_secret) {
  GroupContext context;
  context.cipher_suite = static_cast<CipherSuiteId>(suite.id());
  context.group_id = group_id;
  context.epoch = epoch;
  context.tree_hash = c.hex(v, "tree_hash");
  context.confirmed_transcript_hash = c.hex(v, "confirmed_transcript_hash");
  const Bytes serialized = tls::encode(context);
  c.same(serialized, c.hex(v, "group_context"), "group_context");

  const Bytes psk_secret = c.hex(v, "psk_secret");
  const auto secrets =
      derive_epoch_secrets(suite, init_secret, c.hex(v, "commit_secret"), psk_secret, serialized);
  if (!c.succeeded(secrets, "derive_epoch_secrets")) return false;
  const EpochSecrets& s = *secrets;
  c.same(s.joiner_secret, c.hex(v, "joiner_secret"), "joiner_secret");
  c.same(s.welcome_secret, c.hex(v, "welcome_secret"), "welcome_secret");
  c.same(s.init_secret, c.hex(v, "init_secret"), "init_secret");
  c.same(s.sender_data_secret, c.hex(v, "sender_data_secret"), "sender_data_secret");
  c.same(s.encryption_secret, c.hex(v, "encryption_secret"), "encryption_secret");
  c.same(s.exporter_secret, c.hex(v, "exporter_secret"), "exporter_secret");
  c.same(s.epoch_authenticator, c.hex(v, "epoch_authenticator"), "epoch_authenticator");
  c.same(s.external_secret, c.hex(v, "external_secret"), "external_secret");
  c.same(s.confirmation_key, c.hex(v, "confirmation_key"), "confirmation_key");
  c.same(s.membership_key, c.hex(v, "membership_key"), "membership_key");
  c.same(s.resumption_psk, c.hex(v, "resumption_psk"), "resumption_psk");

  // A joiner reaches the same epoch from the joiner_secret.
  const auto joined =
      derive_epoch_secrets_from_joiner(suite, s.joiner_secret, psk_secret, serialized);
  c.expect(joined.ok() && joined->epoch_secret == s.epoch_secret,
           "derive_epoch_secrets_from_joiner disagrees");
  const auto welcome = derive_welcome_secret(suite, s.joiner_secret, psk_secret);
  if (c.succeeded(welcome, "derive_welcome_secret")) {
    c.same(*welcome, c.hex(v, "welcome_secret"), "derive_welcome_secret");
  }

  const auto pub = external_pub(suite, s.external_secret);
  if (c.succeeded(pub, "external_pub")) c.same(*pub, c.hex(v, "external_pub"), "external_pub");

  // The exporter label is the text of the JSON string itself (the generator hex-encoded
  // random bytes to make a printable label), not bytes in hex.
  const Json& exporter = v.at("exporter");
  const auto exported =
      mls_exporter(suite, s.exporter_secret, exporter.at("label").get<std::string>(),
                   c.hex(exporter, "context"), exporter.at("length").get<size_t>());
  if (c.succeeded(exported, "mls_exporter")) {
    c.same(*exported, c.hex(exporter, "secret"), "exporter");
  }
  init_secret = s.init_secret;
  return c.ok();
}

// ---- psk_secret.json: the PSK combiner of RFC 9420 section 8.4 over lists of external PSKs.

// PreSharedKeyID { psktype = external(1); opaque psk_id<V>; opaque psk_nonce<V>; }, written
// here by hand so that this checks the combiner alone.
Bytes external_psk_id(BytesView psk_id, BytesView psk_nonce) {
  tls::Writer w;
  w.u8(1);
  w.opaque(psk_id);
  w.opaque(psk_nonce);
  return w.take();
}

bool check_psk_case(CaseCheck& c, const CipherSuite& suite, const Json& tc) {
  std::vector<PskInput> psks;
  for (const Json& p : tc.at("psks")) {
    psks.push_back(PskInput{external_psk_id(c.hex(p, "psk_id"), c.hex(p, "psk_nonce")),
                            SecureBytes(c.hex(p, "psk"))});
  }
  const auto secret = derive_psk_secret(suite, psks);
  return c.succeeded(secret, "derive_psk_secret") &&
         c.same(*secret, c.hex(tc, "psk_secret"), "psk_secret");
}

// ---- transcript-hashes.json: RFC 9420 section 8.2 and the confirmation tag.
// authenticated_content is an AuthenticatedContent of a commit: wire_format || FramedContent
// || signature<V> || confirmation_tag<V>. The ConfirmedTranscriptHashInput is everything
// before the confirmation tag, the last field.

bool check_transcript_case(CaseCheck& c, const CipherSuite& suite, const Json& tc) {
  const Bytes content = c.hex(tc, "authenticated_content");
  // The tag is a MAC of Nh bytes (Nh < 64), so its opaque<V> is one length byte and the tag.
  const size_t nh = suite.hash_size();
  if (content.size() < nh + 1 || content[content.size() - nh - 1] != nh) {
    return c.fail("authenticated_content does not end in an Nh-byte confirmation tag");
  }
  const BytesView confirmed_input(content.data(), content.size() - nh - 1);
  const BytesView tag(content.data() + content.size() - nh, nh);

  const Bytes confirmed = confirmed_transcript_hash(
      suite, c.hex(tc, "interim_transcript_hash_before"), confirmed_input);
  c.same(confirmed, c.hex(tc, "confirmed_transcript_hash_after"),
         "confirmed_transcript_hash_after");
  c.same(interim_transcript_hash(suite, confirmed, tag), c.hex(tc, "interim_transcript_hash_after"),
         "interim_transcript_hash_after");
  const Bytes key = c.hex(tc, "confirmation_key");
  c.same(confirmation_tag(suite, key, confirmed), tag, "confirmation_tag");
  c.expect(verify_confirmation_tag(suite, key, confirmed, tag),
           "verify_confirmation_tag rejected the vector's tag");
  Bytes other = confirmed;
  other[0] ^= 1;
  c.expect(!verify_confirmation_tag(suite, key, other, tag),
           "verify_confirmation_tag accepted a tag over another transcript");
  return c.ok();
}

// The common shape: one case per element, run under its cipher suite when this build has it.
VectorReport check_per_suite(std::string_view kind, const Json& file,
                             bool (*check)(CaseCheck&, const CipherSuite&, const Json&)) {
  ReportBuilder report(kind);
  for (size_t i = 0; i < file.size(); ++i) {
    const Json& tc = file[i];
    const uint16_t id = suite_of(tc);
    const std::string name = case_name(i, id);
    if (!report.runs_suite(id, name)) continue;
    report.run(name, [&](CaseCheck& c) {
      auto suite = CipherSuite::create(id);
      return c.succeeded(suite, "cipher suite") && check(c, *suite, tc);
    });
  }
  return report.take();
}

}  // namespace

VectorReport check_tree_math(const Json& file) {
  ReportBuilder report("tree-math");
  for (size_t i = 0; i < file.size(); ++i) {
    report.run("case " + std::to_string(i),
               [&](CaseCheck& c) { return check_tree_math_case(c, file[i]); });
  }
  return report.take();
}

VectorReport check_deserialization(const Json& file) {
  ReportBuilder report("deserialization");
  for (size_t i = 0; i < file.size(); ++i) {
    report.run("case " + std::to_string(i),
               [&](CaseCheck& c) { return check_deserialization_case(c, file[i]); });
  }
  return report.take();
}

VectorReport check_crypto_basics(const Json& file) {
  using Operation = bool (*)(CaseCheck&, const CipherSuite&, const Json&);
  struct Named {
    const char* field;
    Operation check;
  };
  static constexpr Named kOperations[kCryptoOperations] = {
      {"ref_hash", check_ref_hash},
      {"expand_with_label", check_expand_with_label},
      {"derive_secret", check_derive_secret},
      {"derive_tree_secret", check_derive_tree_secret},
      {"sign_with_label", check_sign_with_label},
      {"encrypt_with_label", check_encrypt_with_label},
  };
  ReportBuilder report("crypto-basics");
  for (size_t i = 0; i < file.size(); ++i) {
    const Json& tc = file[i];
    const uint16_t id = suite_of(tc);
    if (!report.runs_suite(id, case_name(i, id), kCryptoOperations)) continue;
    for (const Named& op : kOperations) {
      report.run(case_name(i, id) + " " + op.field, [&](CaseCheck& c) {
        auto suite = CipherSuite::create(id);
        return c.succeeded(suite, "cipher suite") && op.check(c, *suite, tc.at(op.field));
      });
    }
  }
  return report.take();
}

VectorReport check_secret_tree(const Json& file) {
  return check_per_suite("secret-tree", file, check_secret_tree_case);
}

VectorReport check_key_schedule(const Json& file) {
  ReportBuilder report("key-schedule");
  for (size_t i = 0; i < file.size(); ++i) {
    const Json& tc = file[i];
    const uint16_t id = suite_of(tc);
    const std::string name = case_name(i, id);
    const Json* epochs = tc.is_object() && tc.contains("epochs") ? &tc["epochs"] : nullptr;
    if (epochs == nullptr || !epochs->is_array()) {
      report.run(name, [](CaseCheck& c) { return c.fail("no epochs"); });
      continue;
    }
    if (!report.runs_suite(id, name, epochs->size())) continue;
    auto suite = CipherSuite::create(id);
    Bytes group_id;
    SecureBytes init_secret;
    // The first epoch also reads the case's own fields; a failure there fails that epoch.
    for (size_t e = 0; e < epochs->size(); ++e) {
      report.run(name + " epoch " + std::to_string(e), [&](CaseCheck& c) {
        if (!c.succeeded(suite, "cipher suite")) return false;
        if (e == 0) {
          group_id = c.hex(tc, "group_id");
          init_secret = SecureBytes(c.hex(tc, "initial_init_secret"));
        }
        return check_epoch(c, *suite, group_id, e, (*epochs)[e], init_secret);
      });
    }
  }
  return report.take();
}

VectorReport check_psk_secret(const Json& file) {
  return check_per_suite("psk_secret", file, check_psk_case);
}

VectorReport check_transcript_hashes(const Json& file) {
  return check_per_suite("transcript-hashes", file, check_transcript_case);
}

}  // namespace sotto::mls::testing
