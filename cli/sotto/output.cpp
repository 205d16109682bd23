#include "output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <utility>

namespace sotto::cli {

Exit exit_for(const Error& error) {
  switch (error.code()) {
    case Errc::unavailable:
      return Exit::offline;
    case Errc::unauthenticated:
    case Errc::forbidden:
    case Errc::expired:
      return Exit::refused;
    case Errc::not_found:
      return Exit::not_found;
    case Errc::already_exists:
      return Exit::exists;
    case Errc::bad_proof:
    case Errc::bad_signature:
    case Errc::stale:
    case Errc::split_view:
    case Errc::unexpected_value:
      return Exit::untrusted;
    case Errc::invalid_argument:
      return Exit::usage;
    default:
      return Exit::failure;
  }
}

const char* exit_name(Exit code) {
  switch (code) {
    case Exit::ok:
      return "ok";
    case Exit::failure:
      return "failure";
    case Exit::usage:
      return "usage";
    case Exit::no_account:
      return "no_account";
    case Exit::bad_unlock:
      return "bad_unlock";
    case Exit::profile_busy:
      return "profile_busy";
    case Exit::offline:
      return "offline";
    case Exit::refused:
      return "refused";
    case Exit::not_found:
      return "not_found";
    case Exit::exists:
      return "exists";
    case Exit::untrusted:
      return "untrusted";
  }
  return "failure";
}

void Output::line(const std::string& text) const {
  std::cout << text << std::endl;
}

void Output::object(const nlohmann::json& value) const {
  // Invalid UTF-8 (never stored by the engine, but a script must not choke) becomes U+FFFD.
  std::cout << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

int Output::fail(Exit code, const Error& error) const {
  return report(code, std::string(errc_name(error.code())), error.message());
}

int Output::fail(Exit code, const std::string& message) const {
  return report(code, "", message);
}

int Output::report(Exit code, const std::string& detail, const std::string& message) const {
  if (json_) {
    nlohmann::json out = {
        {"error", exit_name(code)}, {"message", message}, {"exit_code", static_cast<int>(code)}};
    if (!detail.empty()) out["detail"] = detail;
    std::cerr << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    std::cerr << "sotto: " << message << std::endl;
  }
  return static_cast<int>(code);
}

void Output::warn(const Error& error) const {
  std::cerr << "sotto: warning: " << error.message() << std::endl;
}

ProgressBar::ProgressBar(const Output& out, std::string label)
    : enabled_(!out.json() && ::isatty(STDERR_FILENO) == 1), label_(std::move(label)) {}

ProgressBar::~ProgressBar() {
  if (enabled_ && shown_ >= 0) std::cerr << std::endl;
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!enabled_ || total == 0) return;
  const int mille = static_cast<int>(std::min<uint64_t>(done, total) * 1000 / total);
  if (mille == shown_) return;
  shown_ = mille;
  constexpr int kWidth = 30;
  const int filled = mille * kWidth / 1000;
  char figures[64];
  std::snprintf(figures, sizeof(figures), "] %3d.%d%%  %.1f/%.1f MiB", mille / 10, mille % 10,
                static_cast<double>(done) / (1024.0 * 1024.0),
                static_cast<double>(total) / (1024.0 * 1024.0));
  std::cerr << '\r' << label_ << " [" << std::string(static_cast<size_t>(filled), '#')
            << std::string(static_cast<size_t>(kWidth - filled), ' ') << figures << std::flush;
}

}  // namespace sotto::cli
