// Witness cosignatures on signed tree heads. A witness follows a directory's heads, checks
// that each new one extends the last it cosigned (a consistency proof), and only then signs
// it. A client that accepts a head only with k of n trusted witnesses' cosignatures cannot be
// shown a forked log unless k witnesses were shown the same fork.
//
// A cosignature is Ed25519 over cosignature_tbs(head), which is domain-separated from the
// directory's own head signature, so neither can stand in for the other.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/kt/directory_proofs.h"

namespace sotto::kt {

// Cosignature (one witness's signature on a head) is declared in directory_proofs.h, since
// lookup proofs carry them.

// opaque "sotto kt witness cosignature v1" || opaque tree_head_tbs(head). The head's own
// signature is not covered: the witness vouches for the head's contents, which the log's
// signature already binds.
Bytes cosignature_tbs(const SignedTreeHead& head);

// Counts the distinct trusted witnesses (keys in `witness_keys`) with a valid cosignature on
// `head` among `cosignatures`. A cosignature by an unknown key, a second one by the same
// witness, or one that does not verify is not counted (and is not an error: a client should
// not fail because one extra witness misbehaved). Returns the count when it is at least
// `threshold`; Errc::bad_signature when it is less; Errc::invalid_argument when threshold is
// 0 or above the number of distinct trusted keys (a configuration no head can satisfy).
Result<size_t> verify_cosignatures(const SignedTreeHead& head,
                                   std::span<const Cosignature> cosignatures,
                                   std::span<const Bytes> witness_keys, size_t threshold);

}  // namespace sotto::kt
