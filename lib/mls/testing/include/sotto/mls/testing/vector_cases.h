// Single cases of the MLS vector files, parsed, for tests that go beyond what a file checks:
// each failure path of join_from_welcome and of TreeKEM is tried on a case that passes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/ratchet_tree.h"
#include "sotto/mls/treekem.h"
#include "sotto/mls/welcome.h"

namespace sotto::mls::testing {

// A case of welcome.json: a KeyPackage with its init private key, a Welcome for it and the
// GroupInfo signer's public key.
struct WelcomeCase {
  uint16_t suite_id = 0;
  SecureBytes init_priv;
  Bytes signer_pub;
  KeyPackage key_package;
  Welcome welcome;

  // Gives signer_pub for any GroupInfo.
  GroupInfoSignerLookup signer() const;
};

// key_package and welcome are whole MLSMessages. Errc::invalid_value for another wire format;
// decoding errors as they come, naming the field.
Result<WelcomeCase> parse_welcome_case(const nlohmann::json& vector_case);

// A case of treekem.json: the public tree, the provisional GroupContext (no tree hash yet;
// it depends on the path being merged) and the members whose private state is given.
struct TreeKemMember {
  TreePrivateKey key;
  SecureBytes signature_priv;
};

struct TreeKemCase {
  PublicTree tree;
  GroupContext context;
  std::map<uint32_t, TreeKemMember> members;  // by leaf index
};

Result<TreeKemCase> parse_treekem_case(const crypto::CipherSuite& suite,
                                       const nlohmann::json& vector_case);

// Deterministic stand-ins for an UpdatePath's fresh secrets, distinct per `tag` and sender,
// so that a run repeats.
UpdatePathSecrets update_path_test_secrets(const crypto::CipherSuite& suite, std::string_view tag,
                                           uint32_t sender);

}  // namespace sotto::mls::testing
