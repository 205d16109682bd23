// A push service and user agent in one, for tests: a plain-HTTP server on 127.0.0.1 that
// accepts Web Push POSTs, answers with scripted status codes, and holds the subscription's
// keys so that a test can check the VAPID header and decrypt what arrived.
//
//   PushReceiver receiver;
//   register_push(receiver.endpoint(), receiver.p256dh(), receiver.auth());  // sottod needs
//                                                      // push.allow_http_endpoints = true
//   ASSERT_TRUE(receiver.wait_for(1, 5s));
//   auto opened = receiver.open(receiver.received()[0], vapid_public_key);
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/webpush/webpush.h"

namespace sotto::server::testing {

struct ReceivedPush {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  Bytes body;
  std::string header(const std::string& lower_case_name) const;
};

// What open() found in a push it accepted.
struct OpenedPush {
  Bytes vapid_public_key;  // from the Authorization header's k
  std::string audience;
  uint64_t expires_at = 0;
  std::string subject;
  SecureBytes plaintext;
};

class PushReceiver {
 public:
  PushReceiver();  // listening on 127.0.0.1, a free port
  ~PushReceiver();
  PushReceiver(const PushReceiver&) = delete;
  PushReceiver& operator=(const PushReceiver&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>".
  std::string endpoint(const std::string& path = "/push/subscription-1") const;
  std::string origin() const;

  // The user agent's subscription keys.
  const webpush::P256KeyPair& ua_key() const { return ua_key_; }
  const Bytes& p256dh() const { return ua_key_.public_key(); }
  const Bytes& auth() const { return auth_; }
  webpush::SubscriptionKeys keys() const { return {ua_key_.public_key(), auth_}; }

  // Answers the next requests with these statuses, in order, then with 201 Created.
  void respond_with(std::vector<unsigned> statuses);
  // Holds every answer back by `delay` (to keep a push in flight).
  void delay_responses(std::chrono::milliseconds delay);

  // True once at least `n` requests have arrived, false after `timeout`.
  bool wait_for(size_t n, std::chrono::milliseconds timeout);
  std::vector<ReceivedPush> received() const;
  // TCP connections accepted, whether or not a request came over them.
  size_t connections() const;

  // Checks a push as a push service and then the user agent would: POST, the Web Push
  // headers (TTL, Content-Encoding: aes128gcm, Urgency), the VAPID JWT (ES256 signature by
  // the key in k, typ/alg, aud = this receiver's origin, exp in the future and at most 24 h
  // away, a sub), then decrypts the body with the subscription's private key. The first
  // problem found is the error.
  Result<OpenedPush> open(const ReceivedPush& push) const;

 private:
  class Server;
  void record(ReceivedPush push);
  unsigned next_status();

  webpush::P256KeyPair ua_key_;
  Bytes auth_;
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<ReceivedPush> received_;
  std::deque<unsigned> statuses_;
  size_t connections_ = 0;
  std::chrono::milliseconds delay_{0};
  std::unique_ptr<Server> server_;
};

}  // namespace sotto::server::testing
