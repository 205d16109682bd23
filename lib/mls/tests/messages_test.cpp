// Wire structs beyond the vectors: extensibility (GREASE and unknown types), the selects that
// depend on other fields, and hostile input.
#include "sotto/mls/messages.h"

#include <gtest/gtest.h>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"

namespace sotto::mls {
namespace {

// RFC 9420 section 13.5: GREASE values are 0x0A0A, 0x1A1A, ..., 0xEAEA.
constexpr uint16_t kGrease = 0x3A3A;

template <class T>
Bytes round_trip(const T& value) {
  const Bytes wire = tls::encode(value);
  const auto decoded = tls::decode<T>(wire);
  EXPECT_TRUE(decoded.ok()) << decoded.error().to_string();
  if (!decoded.ok()) return {};
  EXPECT_EQ(tls::encode(*decoded), wire);
  return wire;
}

LeafNode sample_leaf() {
  LeafNode leaf;
  leaf.encryption_key.data = Bytes(32, 0x11);
  leaf.signature_key.data = Bytes(32, 0x22);
  leaf.credential.content = BasicCredential{to_bytes("alice")};
  leaf.capabilities.versions = {ProtocolVersion::mls10};
  leaf.capabilities.cipher_suites = {CipherSuiteId{3}, static_cast<CipherSuiteId>(kGrease)};
  leaf.capabilities.extensions = {static_cast<ExtensionType>(kGrease)};
  leaf.capabilities.proposals = {static_cast<ProposalType>(kGrease)};
  leaf.capabilities.credentials = {CredentialType::basic, static_cast<CredentialType>(kGrease)};
  leaf.source = KeyPackageLeafSource{Lifetime{1, 2}};
  leaf.extensions = {Extension{static_cast<ExtensionType>(kGrease), {0xde, 0xad}}};
  leaf.signature = Bytes(64, 0x33);
  return leaf;
}

TEST(Messages, GreaseValuesRoundTrip) {
  const LeafNode leaf = sample_leaf();
  round_trip(leaf);
  const auto decoded = tls::decode<LeafNode>(tls::encode(leaf)).value();
  EXPECT_EQ(decoded.capabilities.extensions[0], static_cast<ExtensionType>(kGrease));
  EXPECT_EQ(decoded.capabilities.proposals[0], static_cast<ProposalType>(kGrease));
  EXPECT_EQ(decoded.capabilities.credentials[1], static_cast<CredentialType>(kGrease));
  EXPECT_EQ(decoded.extensions[0].extension_type, static_cast<ExtensionType>(kGrease));
  EXPECT_EQ(decoded.extensions[0].extension_data, (Bytes{0xde, 0xad}));
  EXPECT_EQ(decoded.source_type(), LeafNodeSource::key_package);
  EXPECT_EQ(decoded.credential.type(), CredentialType::basic);

  RequiredCapabilities required{{static_cast<ExtensionType>(kGrease)},
                                {static_cast<ProposalType>(kGrease)},
                                {static_cast<CredentialType>(kGrease)}};
  EXPECT_EQ(round_trip(required), *from_hex("023a3a023a3a023a3a"));
}

TEST(Messages, FindExtension) {
  const std::vector<Extension> extensions = {{ExtensionType::application_id, {1}},
                                             {ExtensionType::external_pub, {2}}};
  ASSERT_NE(find_extension(extensions, ExtensionType::external_pub), nullptr);
  EXPECT_EQ(find_extension(extensions, ExtensionType::external_pub)->extension_data, Bytes{2});
  EXPECT_EQ(find_extension(extensions, ExtensionType::ratchet_tree), nullptr);
}

// The selects without a length: an unknown type cannot be delimited, so it is rejected.
TEST(Messages, UnknownSelectTypesAreRejected) {
  // Proposal of type 0x3A3A followed by some bytes.
  EXPECT_EQ(tls::decode<Proposal>(*from_hex("3a3a0000")).error().code(), Errc::invalid_value);
  // Credential of type 0x3A3A.
  EXPECT_EQ(tls::decode<Credential>(*from_hex("3a3a00")).error().code(), Errc::invalid_value);
  // PreSharedKeyID of type 3.
  EXPECT_EQ(tls::decode<PreSharedKeyId>(*from_hex("030000")).error().code(), Errc::invalid_value);
  // ProposalOrRef of type 0 and 3.
  EXPECT_EQ(tls::decode<ProposalOrRef>(*from_hex("0000")).error().code(), Errc::invalid_value);
  EXPECT_EQ(tls::decode<ProposalOrRef>(*from_hex("0300")).error().code(), Errc::invalid_value);
  // Sender type 5, leaf node source 4, node type 3.
  EXPECT_EQ(tls::decode<Sender>(*from_hex("05")).error().code(), Errc::invalid_value);
  EXPECT_EQ(tls::decode<Node>(*from_hex("03")).error().code(), Errc::invalid_value);
}

TEST(Messages, KnownProposalsRoundTrip) {
  Proposal remove{Remove{LeafIndex{7}}};
  EXPECT_EQ(round_trip(remove), *from_hex("000300000007"));
  EXPECT_EQ(tls::decode<Proposal>(*from_hex("000300000007"))->type(), ProposalType::remove);

  Proposal psk{PreSharedKey{
      PreSharedKeyId{ResumptionPsk{ResumptionPskUsage::branch, {9}, 5}, {0xaa, 0xbb}}}};
  EXPECT_EQ(round_trip(psk), *from_hex("00040203010900000000000000050"
                                       "2aabb"));

  Commit commit;
  commit.proposals.push_back(ProposalOrRef{remove});
  commit.proposals.push_back(ProposalOrRef{ProposalRef{1, 2, 3}});
  commit.path = UpdatePath{sample_leaf(), {UpdatePathNode{{Bytes{4}}, {{{5}, {6}}}}}};
  round_trip(commit);
  const auto decoded = tls::decode<Commit>(tls::encode(commit)).value();
  ASSERT_EQ(decoded.proposals.size(), 2u);
  EXPECT_EQ(decoded.proposals[0].type(), ProposalOrRefType::proposal);
  EXPECT_EQ(decoded.proposals[1].type(), ProposalOrRefType::reference);
  EXPECT_EQ(std::get<ProposalRef>(decoded.proposals[1].content), (Bytes{1, 2, 3}));
  ASSERT_TRUE(decoded.path.has_value());
  EXPECT_EQ(decoded.path->nodes[0].encrypted_path_secret[0].ciphertext, Bytes{6});
}

PublicMessage public_message(Sender sender, std::variant<ApplicationData, Proposal, Commit> body) {
  PublicMessage message;
  message.content.group_id = {0x67};
  message.content.epoch = 1;
  message.content.sender = sender;
  message.content.content = std::move(body);
  message.auth.signature = {0x51};
  return message;
}

// FramedContentAuthData carries a confirmation tag for commits only; PublicMessage carries a
// membership tag for member senders only.
TEST(Messages, PublicMessageSelects) {
  auto from_member = public_message(Sender{MemberSender{LeafIndex{2}}}, Commit{});
  from_member.auth.confirmation_tag = Mac{0xc0};
  from_member.membership_tag = Mac{0x3e};
  const Bytes with_tags = round_trip(MlsMessage{ProtocolVersion::mls10, from_member});
  const auto decoded = tls::decode<MlsMessage>(with_tags).value();
  const auto& pub = std::get<PublicMessage>(decoded.content);
  EXPECT_EQ(pub.auth.confirmation_tag, Mac{0xc0});
  EXPECT_EQ(pub.membership_tag, Mac{0x3e});

  // A new member's application message has neither; tags set by mistake are not written.
  auto from_new = public_message(Sender{NewMemberCommitSender{}}, ApplicationData{{0x68, 0x69}});
  from_new.auth.confirmation_tag = Mac{0xc0};
  from_new.membership_tag = Mac{0x3e};
  const Bytes wire = tls::encode(from_new);
  EXPECT_EQ(wire, *from_hex("0167"
                            "0000000000000001"
                            "04"
                            "00"
                            "01"
                            "026869"
                            "0151"));
  const auto plain = tls::decode<PublicMessage>(wire).value();
  EXPECT_FALSE(plain.auth.confirmation_tag.has_value());
  EXPECT_FALSE(plain.membership_tag.has_value());
  EXPECT_EQ(plain.content.sender.type(), SenderType::new_member_commit);

  // A member's commit without its tags is written with empty MACs.
  const auto untagged = public_message(Sender{MemberSender{LeafIndex{0}}}, Commit{});
  EXPECT_EQ(tls::encode(untagged), *from_hex("0167"
                                             "0000000000000001"
                                             "0100000000"
                                             "00"
                                             "03"
                                             "0000"
                                             "0151"
                                             "00"
                                             "00"));
}

TEST(Messages, MlsMessageVersion) {
  const MlsMessage message{ProtocolVersion::mls10,
                           PrivateMessage{{1}, 2, ContentType::application, {}, {3}, {4}}};
  Bytes wire = round_trip(message);
  EXPECT_EQ(tls::decode<MlsMessage>(wire)->wire_format(), WireFormat::private_message);
  wire[1] = 2;  // version 2
  EXPECT_EQ(tls::decode<MlsMessage>(wire).error().code(), Errc::invalid_value);
  wire[1] = 1;
  wire[3] = 6;  // wire format 6
  EXPECT_EQ(tls::decode<MlsMessage>(wire).error().code(), Errc::invalid_value);
}

TEST(Messages, RatchetTreeWithBlanks) {
  ParentNode parent_node{{Bytes{7}}, {8}, {LeafIndex{1}, LeafIndex{2}}};
  RatchetTree tree = {Node{sample_leaf()}, Node{parent_node}, std::nullopt};
  round_trip(tree);
  const auto decoded = tls::decode<RatchetTree>(tls::encode(tree)).value();
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[0]->type(), NodeType::leaf);
  EXPECT_EQ(decoded[1]->type(), NodeType::parent);
  EXPECT_EQ(std::get<ParentNode>(decoded[1]->content).unmerged_leaves[1], LeafIndex{2});
  EXPECT_FALSE(decoded[2].has_value());
}

TEST(Messages, SmallStructs) {
  EXPECT_EQ(round_trip(SenderData{LeafIndex{1}, 2, {3, 4, 5, 6}}),
            *from_hex("000000010000000203040506"));
  EXPECT_EQ(round_trip(SenderDataAad{{0xab}, 1, ContentType::commit}), *from_hex("01ab"
                                                                                 "0000000000000001"
                                                                                 "03"));
  X509Credential x509{{Certificate{{1, 2}}, Certificate{{3}}}};
  EXPECT_EQ(round_trip(Credential{x509}), *from_hex("0002"
                                                    "05"
                                                    "020102"
                                                    "0103"));
  GroupSecrets secrets{
      SecureBytes{1, 2}, PathSecret{SecureBytes{3}}, {PreSharedKeyId{ExternalPsk{{4}}, {5}}}};
  EXPECT_EQ(round_trip(secrets), *from_hex("020102"
                                           "01"
                                           "0103"
                                           "05"
                                           "01"
                                           "0104"
                                           "0105"));
}

// Lengths that run past the input, or past the end of an enclosing vector, are errors.
TEST(Messages, HostileLengths) {
  // A KeyPackage MLSMessage whose init_key claims 2^30 - 1 bytes.
  EXPECT_FALSE(tls::decode<MlsMessage>(*from_hex("00010005"
                                                 "0001"
                                                 "0003"
                                                 "bfffffff00"))
                   .ok());
  // A ratchet tree whose node list claims more bytes than it has.
  EXPECT_FALSE(tls::decode<RatchetTree>(*from_hex("0501")).ok());
  // An optional flag of 2.
  EXPECT_FALSE(tls::decode<RatchetTree>(*from_hex("0102")).ok());
  // Capabilities whose uint16 list has an odd length.
  EXPECT_FALSE(tls::decode<Capabilities>(*from_hex("0100"
                                                   "00"
                                                   "00"
                                                   "00"
                                                   "00"))
                   .ok());
}

}  // namespace
}  // namespace sotto::mls
