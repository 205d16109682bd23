// What `sotto` prints: results on stdout (text for people, or JSON for scripts: one object per
// line), problems on stderr, and an exit status that says which kind of problem it was.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "sotto/core/result.h"

namespace sotto::cli {

// Exit statuses, stable for scripts (listed in `sotto --help` and cli/README.md).
enum class Exit : int {
  ok = 0,
  failure = 1,       // anything not listed below
  usage = 2,         // a bad command line
  no_account = 3,    // no profile, or a profile without an account
  bad_unlock = 4,    // a wrong passphrase or key file
  profile_busy = 5,  // the profile is in use by another sotto, or cannot be read
  offline = 6,       // the server cannot be reached or the connection broke (the outbox keeps
                     // what was not sent)
  refused = 7,       // the server refused the credentials or ended the session
  not_found = 8,     // an unknown user or group, no conversation with them, or a group left
  exists = 9,        // the profile already has an account, or the username is taken
  untrusted = 10,    // the key directory's proof for a contact did not verify
};

// The exit status for an error met talking to the server or using the engine.
Exit exit_for(const Error& error);
// "no_account", "offline", ...: the status's name in --json errors.
const char* exit_name(Exit code);

class Output {
 public:
  explicit Output(bool json) : json_(json) {}
  bool json() const { return json_; }

  // One line of text (flushed, so that a reader sees messages as they come).
  void line(const std::string& text) const;
  // One JSON object on one line.
  void object(const nlohmann::json& value) const;
  // Says what went wrong on stderr (as JSON with --json) and gives the status to exit with.
  int fail(Exit code, const Error& error) const;
  int fail(Exit code, const std::string& message) const;
  // Something that went wrong beside the command, which still succeeds.
  void warn(const Error& error) const;

 private:
  int report(Exit code, const std::string& detail, const std::string& message) const;
  bool json_;
};

// A transfer's progress on stderr, redrawn in place: only when stderr is a terminal and the
// output is not JSON, so that logs and scripts never see it.
class ProgressBar {
 public:
  ProgressBar(const Output& out, std::string label);
  ~ProgressBar();  // ends the line, when one was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void update(uint64_t done, uint64_t total);

 private:
  bool enabled_;
  std::string label_;
  int shown_ = -1;  // the per-mille last drawn
};

}  // namespace sotto::cli
