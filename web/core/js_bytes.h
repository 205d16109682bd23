// Bytes between JavaScript's Uint8Arrays and the wasm heap.
#pragma once

#include <emscripten/val.h>

#include "sotto/core/bytes.h"

namespace sotto::web {

// A Uint8Array's bytes, copied once into the wasm heap.
inline Bytes bytes_of(const emscripten::val& array) {
  Bytes out(array["length"].as<size_t>());
  emscripten::val(emscripten::typed_memory_view(out.size(), out.data())).call<void>("set", array);
  return out;
}

// A Uint8Array of `bytes`: a copy, so that it outlives the wasm heap's growth.
inline emscripten::val uint8_array(BytesView bytes) {
  emscripten::val view(emscripten::typed_memory_view(bytes.size(), bytes.data()));
  return emscripten::val::global("Uint8Array").new_(view);
}

}  // namespace sotto::web
