#include "sotto/crypto/attachment.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "sotto/crypto/primitives.h"

namespace sotto::crypto {

namespace {

using StreamState = crypto_secretstream_xchacha20poly1305_state;

static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == kAttachmentKeySize);
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == kAttachmentHeaderSize);
static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == kAttachmentChunkOverhead);
static_assert(sizeof(StreamState) <= 64, "secretstream state buffer too small");

constexpr size_t kSealedChunkSize = kAttachmentChunkSize + kAttachmentChunkOverhead;

StreamState& stream_state(uint8_t* storage) {
  return *std::launder(reinterpret_cast<StreamState*>(storage));
}

Result<void> check_key(BytesView key) {
  if (key.size() != kAttachmentKeySize) {
    return Error(Errc::invalid_argument, "an attachment key must be " +
                                             std::to_string(kAttachmentKeySize) + " bytes, not " +
                                             std::to_string(key.size()));
  }
  // Idempotent; picks libsodium's implementations before the first use.
  if (sodium_init() < 0) return Error(Errc::crypto_failure, "libsodium failed to start");
  return success();
}

}  // namespace

std::optional<uint64_t> attachment_ciphertext_size(uint64_t plaintext_size) {
  const uint64_t chunks = plaintext_size / kAttachmentChunkSize + 1;
  const uint64_t overhead = kAttachmentHeaderSize + chunks * kAttachmentChunkOverhead;
  if (plaintext_size > UINT64_MAX - overhead) return std::nullopt;
  return plaintext_size + overhead;
}

std::optional<uint64_t> attachment_plaintext_size(uint64_t ciphertext_size) {
  if (ciphertext_size < kAttachmentHeaderSize + kAttachmentChunkOverhead) return std::nullopt;
  const uint64_t body = ciphertext_size - kAttachmentHeaderSize;
  const uint64_t full = body / kSealedChunkSize;
  const uint64_t last = body % kSealedChunkSize;  // the sealed final chunk
  if (last < kAttachmentChunkOverhead) return std::nullopt;
  return full * kAttachmentChunkSize + (last - kAttachmentChunkOverhead);
}

SecureBytes new_attachment_key() {
  return random_secret(kAttachmentKeySize);
}

// ---- encryption ------------------------------------------------------------------------

Result<AttachmentEncryptor> AttachmentEncryptor::create(BytesView key) {
  SOTTO_TRY(check_key(key));
  AttachmentEncryptor e;
  new (e.state_) StreamState;
  if (crypto_secretstream_xchacha20poly1305_init_push(&stream_state(e.state_), e.header_,
                                                      key.data()) != 0) {
    return Error(Errc::crypto_failure, "secretstream init_push failed");
  }
  return e;
}

AttachmentEncryptor::AttachmentEncryptor(AttachmentEncryptor&& other) noexcept
    : header_sent_(other.header_sent_),
      finished_(other.finished_),
      pending_(std::move(other.pending_)) {
  std::memcpy(state_, other.state_, sizeof(state_));
  std::memcpy(header_, other.header_, sizeof(header_));
  sodium_memzero(other.state_, sizeof(other.state_));
  other.finished_ = true;
}

AttachmentEncryptor::~AttachmentEncryptor() {
  sodium_memzero(state_, sizeof(state_));
}

void AttachmentEncryptor::emit_header(Bytes& out) {
  if (header_sent_) return;
  out.insert(out.end(), header_, header_ + sizeof(header_));
  header_sent_ = true;
}

void AttachmentEncryptor::push(BytesView chunk, bool final, Bytes& out) {
  const size_t at = out.size();
  out.resize(at + chunk.size() + kAttachmentChunkOverhead);
  const unsigned char tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                  : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  // Cannot fail for a chunk this size.
  crypto_secretstream_xchacha20poly1305_push(&stream_state(state_), out.data() + at, nullptr,
                                             chunk.data(), chunk.size(), nullptr, 0, tag);
}

Result<void> AttachmentEncryptor::update(BytesView plaintext, Bytes& out) {
  if (finished_) return Error(Errc::invalid_argument, "the attachment was already finished");
  emit_header(out);
  while (!plaintext.empty()) {
    if (pending_.empty() && plaintext.size() > kAttachmentChunkSize) {
      // A whole chunk straight from the input, without a copy. Only when more follows: the
      // last bytes of the file wait for finish(), which seals them as the final chunk.
      push(plaintext.subspan(0, kAttachmentChunkSize), false, out);
      plaintext = plaintext.subspan(kAttachmentChunkSize);
      continue;
    }
    const size_t take = std::min(kAttachmentChunkSize - pending_.size(), plaintext.size());
    pending_.append(plaintext.subspan(0, take));
    plaintext = plaintext.subspan(take);
    if (pending_.size() == kAttachmentChunkSize && !plaintext.empty()) {
      push(pending_.view(), false, out);
      pending_.clear();
    }
  }
  return success();
}

Result<void> AttachmentEncryptor::finish(Bytes& out) {
  if (finished_) return Error(Errc::invalid_argument, "the attachment was already finished");
  emit_header(out);
  if (pending_.size() == kAttachmentChunkSize) {
    // The file ends on a chunk boundary: that chunk is a plain one, and an empty final
    // chunk follows, so that every stream has the same shape.
    push(pending_.view(), false, out);
    pending_.clear();
  }
  push(pending_.view(), true, out);
  pending_.clear();
  finished_ = true;
  sodium_memzero(state_, sizeof(state_));
  return success();
}

// ---- decryption ------------------------------------------------------------------------

Result<AttachmentDecryptor> AttachmentDecryptor::create(BytesView key) {
  SOTTO_TRY(check_key(key));
  AttachmentDecryptor d;
  d.key_ = SecureBytes(key);
  return d;
}

AttachmentDecryptor::AttachmentDecryptor(AttachmentDecryptor&& other) noexcept
    : key_(std::move(other.key_)),
      started_(other.started_),
      final_seen_(other.final_seen_),
      failed_(other.failed_),
      pending_(std::move(other.pending_)) {
  std::memcpy(state_, other.state_, sizeof(state_));
  sodium_memzero(other.state_, sizeof(other.state_));
  other.failed_ = true;
}

AttachmentDecryptor::~AttachmentDecryptor() {
  sodium_memzero(state_, sizeof(state_));
}

Result<void> AttachmentDecryptor::open_chunk(BytesView chunk, Bytes& out) {
  const size_t at = out.size();
  out.resize(at + chunk.size() - kAttachmentChunkOverhead);
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&stream_state(state_), out.data() + at, nullptr,
                                                 &tag, chunk.data(), chunk.size(), nullptr,
                                                 0) != 0) {
    out.resize(at);
    return Error(Errc::authentication_failed,
                 "an attachment chunk does not authenticate (a wrong key, or changed data)");
  }
  // Full chunks carry MESSAGE, the short last one FINAL; the encryptor makes nothing else.
  const bool full = chunk.size() == kSealedChunkSize;
  const bool expected = full ? tag == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
                             : tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (!expected) {
    out.resize(at);
    return Error(Errc::invalid_value, "an attachment chunk with an unexpected tag or length");
  }
  final_seen_ = !full;
  return success();
}

Result<void> AttachmentDecryptor::update(BytesView ciphertext, Bytes& out) {
  if (failed_) return Error(Errc::invalid_argument, "the attachment already failed to decrypt");
  auto fail = [this](Error error) -> Result<void> {
    failed_ = true;
    sodium_memzero(state_, sizeof(state_));
    return error;
  };
  while (!ciphertext.empty()) {
    const size_t want = started_ ? kSealedChunkSize : kAttachmentHeaderSize;
    const size_t take = std::min(want - pending_.size(), ciphertext.size());
    pending_.insert(pending_.end(), ciphertext.begin(), ciphertext.begin() + take);
    ciphertext = ciphertext.subspan(take);
    if (pending_.size() < want) break;
    if (!started_) {
      new (state_) StreamState;
      if (crypto_secretstream_xchacha20poly1305_init_pull(&stream_state(state_), pending_.data(),
                                                          key_.data()) != 0) {
        return fail(Error(Errc::authentication_failed, "the attachment's header is invalid"));
      }
      key_ = SecureBytes();
      started_ = true;
    } else if (auto opened = open_chunk(pending_, out); !opened) {
      return fail(std::move(opened).error());
    }
    pending_.clear();
  }
  // A short final chunk stays in `pending_` until finish() knows that nothing follows it.
  return success();
}

Result<void> AttachmentDecryptor::finish(Bytes& out) {
  if (failed_) return Error(Errc::invalid_argument, "the attachment already failed to decrypt");
  if (started_ && !final_seen_ && !pending_.empty()) {
    // The final chunk is shorter than a full one: it waits here until the input ends.
    auto opened = pending_.size() >= kAttachmentChunkOverhead
                      ? open_chunk(pending_, out)
                      : Result<void>(Error(Errc::truncated, "the attachment ends inside a chunk"));
    if (!opened) {
      failed_ = true;
      return std::move(opened).error();
    }
    pending_.clear();
  }
  if (!final_seen_) {
    failed_ = true;
    return Error(Errc::truncated, "the attachment ends before its final chunk");
  }
  sodium_memzero(state_, sizeof(state_));
  return success();
}

}  // namespace sotto::crypto
