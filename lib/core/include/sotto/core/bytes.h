// Byte types. Bytes holds public data; SecureBytes holds secrets and wipes them when it
// lets go of its memory. Equality of secrets, MACs and tags is always constant time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace sotto {

using Bytes = std::vector<uint8_t>;
using BytesView = std::span<const uint8_t>;

// Overwrites `size` bytes at `p` with zeros in a way the optimiser cannot remove.
void secure_wipe(void* p, size_t size);

// True when a and b have the same length and contents. Time depends only on the lengths.
bool constant_time_equal(BytesView a, BytesView b);

// A byte string for secrets: wiped on destruction, on clear(), and when it reallocates.
// Copying is explicit and deliberate (a secret should not spread by accident).
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size) : data_(size) {}
  explicit SecureBytes(BytesView bytes) : data_(bytes.begin(), bytes.end()) {}
  SecureBytes(std::initializer_list<uint8_t> bytes) : data_(bytes) {}
  ~SecureBytes() { wipe(); }

  SecureBytes(SecureBytes&& other) noexcept : data_(std::move(other.data_)) {}
  SecureBytes& operator=(SecureBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      data_ = std::move(other.data_);
    }
    return *this;
  }
  SecureBytes(const SecureBytes& other) : data_(other.data_) {}
  SecureBytes& operator=(const SecureBytes& other) {
    if (this != &other) {
      wipe();
      data_ = other.data_;
    }
    return *this;
  }

  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  uint8_t& operator[](size_t i) { return data_[i]; }
  uint8_t operator[](size_t i) const { return data_[i]; }
  auto begin() const { return data_.begin(); }
  auto end() const { return data_.end(); }

  BytesView view() const { return {data_.data(), data_.size()}; }
  operator BytesView() const { return view(); }  // NOLINT: implicit, reading is harmless

  // Grows or shrinks; the old buffer is wiped before it is released.
  void resize(size_t size);
  void clear() {
    wipe();
    data_.clear();
  }
  void append(BytesView bytes);

  // Public copy of the contents, for values that stop being secret (e.g. a public key).
  Bytes reveal() const { return Bytes(data_.begin(), data_.end()); }

  // Constant-time comparison.
  friend bool operator==(const SecureBytes& a, const SecureBytes& b) {
    return constant_time_equal(a.view(), b.view());
  }

 private:
  void wipe() { secure_wipe(data_.data(), data_.capacity()); }
  std::vector<uint8_t> data_;
};

inline BytesView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline Bytes to_bytes(std::string_view s) {
  auto v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}
inline Bytes to_bytes(BytesView v) { return Bytes(v.begin(), v.end()); }

// a || b || ...
Bytes concat(std::initializer_list<BytesView> parts);

}  // namespace sotto
