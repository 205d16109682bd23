// An autoconfig file comes from the network. Nothing may crash; what is taken from it must be
// what Sotto can use: a host name, a port, a login, no more servers than the limit.
#include <cstdlib>
#include <string_view>

#include "sotto/mail/autoconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto found = sotto::mail::parse_autoconfig(xml, "jo@example.org");
  if (!found.ok()) return 0;
  for (const auto* list : {&found->imap, &found->smtp}) {
    if (list->empty() || list->size() > sotto::mail::kMaxAutoconfigServers) std::abort();
    for (const auto& c : *list) {
      if (!sotto::mail::is_host_name(c.host) || c.port == 0 || c.login.empty()) std::abort();
    }
  }
  return 0;
}
