#include "sotto/mls/key_schedule.h"

#include <string>

#include "sotto/core/tls.h"

namespace sotto::mls {

namespace {

Result<void> check_secret_size(const crypto::CipherSuite& suite, BytesView secret,
                               const char* name) {
  if (secret.size() != suite.hash_size()) {
    return Error(Errc::invalid_argument,
                 std::string(name) + " is " + std::to_string(secret.size()) +
                     " bytes, not Nh = " + std::to_string(suite.hash_size()));
  }
  return success();
}

Result<SecureBytes> derive(const crypto::CipherSuite& suite, BytesView secret,
                           std::string_view label) {
  SOTTO_TRY_ASSIGN(auto out, suite.derive_secret(secret, label));
  return out;
}

}  // namespace

Result<SecureBytes> derive_welcome_secret(const crypto::CipherSuite& suite, BytesView joiner_secret,
                                          BytesView psk_secret) {
  SOTTO_TRY(check_secret_size(suite, joiner_secret, "joiner_secret"));
  SOTTO_TRY(check_secret_size(suite, psk_secret, "psk_secret"));
  const SecureBytes member_secret = suite.extract(joiner_secret, psk_secret);
  return derive(suite, member_secret, "welcome");
}

Result<EpochSecrets> derive_epoch_secrets_from_joiner(const crypto::CipherSuite& suite,
                                                      BytesView joiner_secret, BytesView psk_secret,
                                                      BytesView group_context) {
  SOTTO_TRY(check_secret_size(suite, joiner_secret, "joiner_secret"));
  SOTTO_TRY(check_secret_size(suite, psk_secret, "psk_secret"));
  EpochSecrets s;
  s.joiner_secret = SecureBytes(joiner_secret);
  const SecureBytes member_secret = suite.extract(joiner_secret, psk_secret);
  SOTTO_TRY_ASSIGN(s.welcome_secret, derive(suite, member_secret, "welcome"));
  SOTTO_TRY_ASSIGN(s.epoch_secret, suite.expand_with_label(member_secret, "epoch", group_context,
                                                           suite.hash_size()));
  const SecureBytes& e = s.epoch_secret;
  SOTTO_TRY_ASSIGN(s.sender_data_secret, derive(suite, e, "sender data"));
  SOTTO_TRY_ASSIGN(s.encryption_secret, derive(suite, e, "encryption"));
  SOTTO_TRY_ASSIGN(s.exporter_secret, derive(suite, e, "exporter"));
  SOTTO_TRY_ASSIGN(s.external_secret, derive(suite, e, "external"));
  SOTTO_TRY_ASSIGN(s.confirmation_key, derive(suite, e, "confirm"));
  SOTTO_TRY_ASSIGN(s.membership_key, derive(suite, e, "membership"));
  SOTTO_TRY_ASSIGN(s.resumption_psk, derive(suite, e, "resumption"));
  SOTTO_TRY_ASSIGN(s.epoch_authenticator, derive(suite, e, "authentication"));
  SOTTO_TRY_ASSIGN(s.init_secret, derive(suite, e, "init"));
  return s;
}

Result<EpochSecrets> derive_epoch_secrets(const crypto::CipherSuite& suite, BytesView init_secret,
                                          BytesView commit_secret, BytesView psk_secret,
                                          BytesView group_context) {
  SOTTO_TRY(check_secret_size(suite, init_secret, "init_secret"));
  SOTTO_TRY(check_secret_size(suite, commit_secret, "commit_secret"));
  const SecureBytes prk = suite.extract(init_secret, commit_secret);
  SOTTO_TRY_ASSIGN(const SecureBytes joiner_secret,
                   suite.expand_with_label(prk, "joiner", group_context, suite.hash_size()));
  return derive_epoch_secrets_from_joiner(suite, joiner_secret, psk_secret, group_context);
}

Result<Bytes> external_pub(const crypto::CipherSuite& suite, BytesView external_secret) {
  SOTTO_TRY_ASSIGN(auto key_pair, suite.derive_hpke_key_pair(external_secret));
  return std::move(key_pair.public_key);
}

Result<SecureBytes> mls_exporter(const crypto::CipherSuite& suite, BytesView exporter_secret,
                                 std::string_view label, BytesView context, size_t length) {
  SOTTO_TRY_ASSIGN(const SecureBytes derived, suite.derive_secret(exporter_secret, label));
  return suite.expand_with_label(derived, "exported", suite.hash(context), length);
}

Result<SecureBytes> derive_psk_secret(const crypto::CipherSuite& suite,
                                      const std::vector<PskInput>& psks) {
  if (psks.size() > 0xFFFF) {
    return Error(Errc::invalid_argument,
                 "psk_secret: " + std::to_string(psks.size()) + " PSKs, at most 65535");
  }
  const size_t nh = suite.hash_size();
  const Bytes zero(nh, 0);
  SecureBytes psk_secret(nh);  // psk_secret_[0] = 0
  const auto count = static_cast<uint16_t>(psks.size());
  for (size_t i = 0; i < psks.size(); ++i) {
    const SecureBytes extracted = suite.extract(zero, psks[i].psk);
    // PSKLabel { PreSharedKeyID id; uint16 index; uint16 count; }
    tls::Writer label;
    label.raw(psks[i].id);
    label.u16(static_cast<uint16_t>(i));
    label.u16(count);
    SOTTO_TRY_ASSIGN(const SecureBytes input,
                     suite.expand_with_label(extracted, "derived psk", label.bytes(), nh));
    psk_secret = suite.extract(input, psk_secret);
  }
  return psk_secret;
}

Bytes confirmed_transcript_hash(const crypto::CipherSuite& suite,
                                BytesView interim_transcript_hash_before,
                                BytesView confirmed_input) {
  return suite.hash(concat({interim_transcript_hash_before, confirmed_input}));
}

Bytes interim_transcript_hash(const crypto::CipherSuite& suite, BytesView confirmed_transcript_hash,
                              BytesView confirmation_tag) {
  tls::Writer w;
  w.raw(confirmed_transcript_hash);
  w.opaque(confirmation_tag);
  return suite.hash(w.bytes());
}

Bytes confirmation_tag(const crypto::CipherSuite& suite, BytesView confirmation_key,
                       BytesView confirmed_transcript_hash) {
  return suite.mac(confirmation_key, confirmed_transcript_hash).reveal();
}

bool verify_confirmation_tag(const crypto::CipherSuite& suite, BytesView confirmation_key,
                             BytesView confirmed_transcript_hash, BytesView tag) {
  const SecureBytes expected = suite.mac(confirmation_key, confirmed_transcript_hash);
  return constant_time_equal(expected, tag);
}

}  // namespace sotto::mls
