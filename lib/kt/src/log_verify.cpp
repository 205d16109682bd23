// The verifiers of RFC 9162 sections 2.1.3.2 and 2.1.4.2, step by step, with the variable
// names of the RFC; plus the length checks a proof from the wire needs.
#include <algorithm>
#include <string>

#include "sotto/kt/log_tree.h"
#include "tree_math.h"

namespace sotto::kt {

namespace {

Error malformed(const std::string& why) {
  return Error(Errc::invalid_value, why);
}
Error mismatch(const std::string& why) {
  return Error(Errc::authentication_failed, why);
}

bool same(BytesView a, BytesView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Every node hash a proof carries must be a SHA-256 output: an opaque<32..255> of another
// length is not one of ours, and a zero-length hash could "match" a zero-length root.
Result<void> check_lengths(std::span<const Bytes> proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != kHashSize) {
      return malformed("proof hash " + std::to_string(i) + " is " +
                       std::to_string(proof[i].size()) + " bytes, not 32");
    }
  }
  return success();
}

// Right-shifts fn and sn together until LSB(fn) is set or fn is 0.
void shift_to_set_bit(uint64_t& fn, uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

Result<void> verify_inclusion(BytesView leaf_hash, uint64_t leaf_index, uint64_t tree_size,
                              std::span<const Bytes> proof, BytesView root) {
  if (leaf_hash.size() != kHashSize) {
    return malformed("leaf hash is " + std::to_string(leaf_hash.size()) + " bytes, not 32");
  }
  if (root.size() != kHashSize) {
    return malformed("root is " + std::to_string(root.size()) + " bytes, not 32");
  }
  SOTTO_TRY(check_lengths(proof));
  // 1. leaf_index >= tree_size fails.
  if (leaf_index >= tree_size) {
    return malformed("leaf index " + std::to_string(leaf_index) + " not below tree size " +
                     std::to_string(tree_size));
  }
  // 2. fn = leaf_index, sn = tree_size - 1. 3. r = hash.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash r;
  std::copy(leaf_hash.begin(), leaf_hash.end(), r.begin());
  // 4. For each p in the inclusion path:
  for (const Bytes& p : proof) {
    // a. sn = 0 before the path is used up: too long.
    if (sn == 0) return malformed("inclusion proof longer than the path");
    // b.
    if ((fn & 1) != 0 || fn == sn) {
      r = hash_children(p, r);
      if ((fn & 1) == 0) shift_to_set_bit(fn, sn);
    } else {
      r = hash_children(r, p);
    }
    // c.
    fn >>= 1;
    sn >>= 1;
  }
  // 5. sn must be 0 (the path was long enough) and r the root.
  if (sn != 0) return malformed("inclusion proof shorter than the path");
  if (!same(r, root)) return mismatch("inclusion proof does not lead to the root");
  return success();
}

Result<void> verify_consistency(uint64_t size1, uint64_t size2, std::span<const Bytes> proof,
                                BytesView root1, BytesView root2) {
  if (size1 > size2) {
    return malformed("size1 " + std::to_string(size1) + " above size2 " + std::to_string(size2));
  }
  if (size1 == 0) return malformed("no consistency proof from the empty tree");
  if (size1 == size2) {
    if (!proof.empty()) return malformed("consistency proof between equal sizes is not empty");
    if (!same(root1, root2)) return mismatch("roots of equal sizes differ");
    return success();
  }
  // From here 0 < first < second, as section 2.1.4.2 requires.
  if (root1.size() != kHashSize || root2.size() != kHashSize) {
    return malformed("roots must be 32 bytes");
  }
  SOTTO_TRY(check_lengths(proof));
  const uint64_t first = size1;
  const uint64_t second = size2;
  // 1. An empty consistency path fails.
  if (proof.empty()) return malformed("empty consistency proof");
  // 2. If first is an exact power of 2, first_hash is prepended to the path: the path's
  // first value is then first_hash itself, and the rest are the given hashes.
  const bool prepend = detail::is_power_of_two(first);
  size_t next = 0;
  auto value = [&](size_t i) -> BytesView {
    if (prepend) return i == 0 ? root1 : BytesView(proof[i - 1]);
    return proof[i];
  };
  const size_t path_size = proof.size() + (prepend ? 1 : 0);
  // 3. fn = first - 1, sn = second - 1.
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  // 4. If LSB(fn) is set, right-shift both until it is not.
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5. fr and sr start as the path's first value.
  Hash fr;
  const BytesView start = value(next++);
  std::copy(start.begin(), start.end(), fr.begin());
  Hash sr = fr;
  // 6. For each subsequent value c:
  for (; next < path_size; ++next) {
    const BytesView c = value(next);
    // a. sn = 0 before the path is used up: too long.
    if (sn == 0) return malformed("consistency proof longer than the path");
    // b.
    if ((fn & 1) != 0 || fn == sn) {
      fr = hash_children(c, fr);
      sr = hash_children(c, sr);
      if ((fn & 1) == 0) shift_to_set_bit(fn, sn);
    } else {
      sr = hash_children(sr, c);
    }
    // c.
    fn >>= 1;
    sn >>= 1;
  }
  // 7. fr must be first_hash, sr second_hash, and sn 0.
  if (sn != 0) return malformed("consistency proof shorter than the path");
  if (!same(fr, root1)) return mismatch("consistency proof does not lead to the first root");
  if (!same(sr, root2)) return mismatch("consistency proof does not lead to the second root");
  return success();
}

}  // namespace sotto::kt
