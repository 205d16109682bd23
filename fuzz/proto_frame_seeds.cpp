// Writes the seed corpus of proto_frame_fuzz: one valid frame of each common request, response
// and event. Usage: proto_frame_seeds <directory>
#include <cstdio>
#include <string>

#include "fuzz_support.h"
#include "sotto/proto/protocol.h"

namespace {

using namespace sotto;
using namespace sotto::proto;


}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: proto_frame_seeds DIRECTORY\n");
    return 2;
  }
  const std::string dir = argv[1];
  const DeviceKey device{Bytes(32, 0x11), "laptop"};
  RegisterAccount reg{"alice", "alice@example.org", "correct horse battery", "", "Alice", device};
  Send send{Bytes(kMessageIdSize, 1), {Bytes(kIdSize, 2), Bytes(kIdSize, 3)},
            CommitOrder{to_bytes("group"), 7}, to_bytes("ciphertext")};
  UploadKeyPackages upload{{Bytes(40, 4), Bytes(41, 5)}, Bytes(42, 6)};
  UpdateProfile profile{std::nullopt, std::string("Al"), std::string("+4912345")};
  const std::pair<const char*, Bytes> seeds[] = {
      {"register", encode(ClientFrame{kVersion, 1, reg})},
      {"login", encode(ClientFrame{kVersion, 2, Login{"alice", "pw", device}})},
      {"auth_device", encode(ClientFrame{kVersion, 3,
                                         AuthDevice{Bytes(kIdSize, 7), Bytes(32, 8), Bytes(64, 9)}})},
      {"send", encode(ClientFrame{kVersion, 4, send})},
      {"fetch", encode(ClientFrame{kVersion, 5, Fetch{10, 100}})},
      {"ack", encode(ClientFrame{kVersion, 6, Ack{{1, 2, 300000}}})},
      {"upload", encode(ClientFrame{kVersion, 7, upload})},
      {"profile", encode(ClientFrame{kVersion, 8, profile})},
      {"kt_lookup", encode(ClientFrame{kVersion, 9, KtLookup{"bob", 12}})},
      {"error", encode(ServerFrame{error_response(4, Error(Errc::conflict, "epoch taken"))})},
      {"session", encode(ServerFrame{Response{1, SessionResponse{Bytes(kIdSize, 1), Bytes(kIdSize, 2),
                                                                  Bytes(32, 3), 1700000000}}})},
      {"messages", encode(ServerFrame{Response{5, MessagesResponse{{QueuedMessage{11, 5, Bytes(3, 1)}}, 1}}})},
      {"event", encode(ServerFrame{Event{MessageEvent{QueuedMessage{12, 6, Bytes(4, 2)}}}})},
  };
  for (const auto& [name, bytes] : seeds) {
    if (!fuzz::write_file(dir + "/" + name, bytes)) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name);
      return 1;
    }
  }
  return 0;
}
