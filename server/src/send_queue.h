// The messages a WebSocket session has yet to write, oldest first: a vector and the index of
// its front. An empty queue holds no memory (std::deque allocates a 512-byte block as soon as
// it exists, which is most of what an idle connection's queue would cost), and the written
// front is dropped in batches rather than one move per message.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace sotto::server {

class SendQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  const std::string& front() const { return *items_[head_]; }

  void push_back(std::shared_ptr<const std::string> message) {
    items_.push_back(std::move(message));
  }

  void pop_front() {
    items_[head_++].reset();
    if (empty()) {
      clear();
    } else if (head_ >= kCompactAt && head_ * 2 >= items_.size()) {
      // A queue that never runs dry still gives back what it wrote.
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void clear() {
    items_.clear();
    head_ = 0;
    if (items_.capacity() > kKeptCapacity) items_.shrink_to_fit();
  }

  // What the queue holds room for (for tests).
  std::size_t capacity() const { return items_.capacity(); }

 private:
  static constexpr std::size_t kCompactAt = 32;
  static constexpr std::size_t kKeptCapacity = 16;
  std::vector<std::shared_ptr<const std::string>> items_;
  std::size_t head_ = 0;
};

}  // namespace sotto::server
