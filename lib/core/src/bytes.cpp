#include "sotto/core/bytes.h"

#include <cstring>

namespace sotto {

void secure_wipe(void* p, size_t size) {
  if (p == nullptr || size == 0) return;
#ifdef __EMSCRIPTEN__
  // Writes through a volatile pointer are observable behaviour: they cannot be elided.
  volatile uint8_t* q = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < size; ++i) q[i] = 0;
#else
  // glibc's memset that the compiler may not drop; a byte loop costs a microsecond per KiB.
  explicit_bzero(p, size);
#endif
}

bool constant_time_equal(BytesView a, BytesView b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

void SecureBytes::resize(size_t size) {
  if (size <= data_.capacity()) {
    if (size < data_.size()) secure_wipe(data_.data() + size, data_.size() - size);
    data_.resize(size);
    return;
  }
  std::vector<uint8_t> grown(size);
  if (!data_.empty()) std::memcpy(grown.data(), data_.data(), data_.size());
  wipe();
  data_ = std::move(grown);
}

void SecureBytes::append(BytesView bytes) {
  if (bytes.empty()) return;
  const size_t old = data_.size();
  if (old + bytes.size() <= data_.capacity()) {
    data_.resize(old + bytes.size());  // no reallocation: `bytes` stays valid
    std::memcpy(data_.data() + old, bytes.data(), bytes.size());
    return;
  }
  // `bytes` may lie inside our own buffer (s.append(s)): copy it before that buffer is wiped.
  std::vector<uint8_t> grown(old + bytes.size());
  if (old > 0) std::memcpy(grown.data(), data_.data(), old);
  std::memcpy(grown.data() + old, bytes.data(), bytes.size());
  wipe();
  data_ = std::move(grown);
}

Bytes concat(std::initializer_list<BytesView> parts) {
  size_t total = 0;
  for (auto p : parts) total += p.size();
  Bytes out;
  out.reserve(total);
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace sotto
