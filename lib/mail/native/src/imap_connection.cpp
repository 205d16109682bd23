#include "sotto/mail/imap_connection.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "mail_stream.h"
#include "sotto/core/bytes.h"
#include "sotto/core/encoding.h"
#include "sotto/mail/sasl.h"

namespace sotto::mail {

ImapConnection::ImapConnection(std::unique_ptr<MailStream> io) : io_(std::move(io)) {}

ImapConnection::~ImapConnection() = default;

bool ImapConnection::has(const std::string& capability) const {
  return session_.has(capability);
}

bool ImapConnection::encrypted() const {
  return io_->encrypted();
}

// The next response, or nullopt when `deadline` passed first (the connection stays usable).
Result<std::optional<imap::Response>> ImapConnection::next_response(Clock::time_point deadline) {
  for (;;) {
    std::string out = session_.take_output();
    if (!out.empty()) SOTTO_TRY(io_->write(out));
    auto r = session_.next();
    if (!r.ok()) {
      io_->close();
      return std::move(r).error();
    }
    if (r.value()) return std::move(r).value();
    std::string more = session_.take_output();
    if (!more.empty()) {
      SOTTO_TRY(io_->write(more));
      continue;
    }
    SOTTO_TRY_ASSIGN(std::string bytes, io_->read(deadline));
    if (bytes.empty()) {
      if (Clock::now() >= deadline) return std::optional<imap::Response>();
      continue;
    }
    session_.receive(bytes);
  }
}

Result<imap::Response> ImapConnection::next_response() {
  SOTTO_TRY_ASSIGN(auto r, next_response(Clock::now() + io_->timeout()));
  if (!r) {
    io_->close();
    return mail_unavailable("IMAP", "the server did not answer in time");
  }
  return std::move(*r);
}

Result<imap::StatusText> ImapConnection::wait_for(const std::string& tag,
                                                  std::vector<imap::Response>* untagged) {
  for (;;) {
    SOTTO_TRY_ASSIGN(imap::Response r, next_response());
    switch (r.kind) {
      case imap::Response::Kind::tagged:
        if (r.tag != tag) {
          io_->close();
          return Error(Errc::invalid_value, "IMAP: an answer to a command never sent");
        }
        return std::move(r.status);
      case imap::Response::Kind::continuation:
        io_->close();
        return Error(Errc::invalid_value, "IMAP: a continuation that no command asked for");
      default:
        if (untagged) untagged->push_back(std::move(r));
        break;
    }
  }
}

Result<imap::StatusText> ImapConnection::run(const imap::Command& command,
                                             std::vector<imap::Response>* untagged) {
  SOTTO_TRY_ASSIGN(std::string tag, session_.start(command));
  SOTTO_TRY_ASSIGN(imap::StatusText status, wait_for(tag, untagged));
  if (status.status == imap::Status::ok) return status;
  std::string text = server_text(status.text);
  if (status.code == "OVERQUOTA") return Error(Errc::quota_exceeded, "IMAP: " + text);
  if (status.code == "NONEXISTENT") return Error(Errc::not_found, "IMAP: " + text);
  if (!status.code.empty()) text = "[" + server_text(status.code) + "] " + text;
  return Error(Errc::invalid_argument, "the IMAP server refused: " + text);
}

Result<std::unique_ptr<ImapConnection>> ImapConnection::connect(
    const MailServerEndpoint& endpoint) {
  auto io = std::make_unique<MailStream>("IMAP", endpoint.step_timeout);
  SOTTO_TRY(io->connect(endpoint));
  const bool implicit = endpoint.security == MailServerEndpoint::Security::implicit_tls;
  if (implicit) SOTTO_TRY(io->start_tls(endpoint));
  std::unique_ptr<ImapConnection> c(new ImapConnection(std::move(io)));
  SOTTO_TRY_ASSIGN(imap::Response greeting, c->next_response());
  if (greeting.kind != imap::Response::Kind::status ||
      (greeting.status.status != imap::Status::ok &&
       greeting.status.status != imap::Status::preauth)) {
    c->io_->close();
    return mail_unavailable("IMAP",
                            "the server does not greet: " + server_text(greeting.status.text));
  }
  if (c->session_.capabilities().empty()) SOTTO_TRY(c->run(imap::Command("CAPABILITY")));
  if (!implicit) {
    if (!c->has("STARTTLS")) {
      c->io_->close();
      return Error(Errc::unsupported,
                   "the IMAP server does not offer STARTTLS; Sotto sends no password in clear");
    }
    SOTTO_TRY(c->run(imap::Command("STARTTLS")));
    // Bytes after STARTTLS's answer came in clear from anyone on the path: they must not be
    // read as if they came over TLS.
    if (c->session_.buffered() != 0) {
      c->io_->close();
      return Error(Errc::invalid_value, "IMAP: bytes in clear after STARTTLS's answer");
    }
    SOTTO_TRY(c->io_->start_tls(endpoint));
    c->session_.forget_capabilities();
    SOTTO_TRY(c->run(imap::Command("CAPABILITY")));
  }
  return c;
}

Result<void> ImapConnection::login(const std::string& user, const std::string& password) {
  if (has("LOGINDISABLED")) {
    return Error(Errc::unsupported, "the IMAP server does not allow logging in here");
  }
  std::string tag;
  if (has("AUTH=PLAIN")) {
    std::string encoded = sasl_plain(user, password);
    if (has("SASL-IR")) {
      auto started = session_.start(imap::Command("AUTHENTICATE").raw("PLAIN").raw(encoded));
      secure_wipe(encoded.data(), encoded.size());
      SOTTO_TRY_ASSIGN(tag, std::move(started));
    } else {
      SOTTO_TRY_ASSIGN(tag, session_.start(imap::Command("AUTHENTICATE").raw("PLAIN")));
      SOTTO_TRY_ASSIGN(imap::Response r, next_response());
      if (r.kind != imap::Response::Kind::continuation) {
        secure_wipe(encoded.data(), encoded.size());
        return Error(Errc::unauthenticated,
                     "the IMAP server refused PLAIN: " + server_text(r.status.text));
      }
      auto sent = session_.send_line(encoded);
      secure_wipe(encoded.data(), encoded.size());
      SOTTO_TRY(std::move(sent));
    }
  } else {
    SOTTO_TRY_ASSIGN(tag, session_.start(imap::Command("LOGIN").astring(user).astring(password)));
  }
  SOTTO_TRY_ASSIGN(imap::StatusText status, wait_for(tag, nullptr));
  if (status.status != imap::Status::ok) {
    return Error(Errc::unauthenticated,
                 "the IMAP server refused the login: " + server_text(status.text));
  }
  // Servers announce more after a login; ask when the answer did not say.
  if (status.code != "CAPABILITY") SOTTO_TRY(run(imap::Command("CAPABILITY")));
  return success();
}

Result<MailboxState> ImapConnection::select(const std::string& mailbox) {
  std::vector<imap::Response> untagged;
  SOTTO_TRY(run(imap::Command("SELECT").astring(mailbox), &untagged));
  MailboxState state;
  for (const auto& r : untagged) {
    if (r.kind == imap::Response::Kind::numbered && r.name == "EXISTS" && r.number <= UINT32_MAX) {
      state.exists = static_cast<uint32_t>(r.number);
    }
    if (r.kind == imap::Response::Kind::status && r.status.code_args.size() == 1) {
      auto n = r.status.code_args[0].as_uint32();
      if (n && r.status.code == "UIDVALIDITY") state.uid_validity = *n;
      if (n && r.status.code == "UIDNEXT") state.uid_next = *n;
    }
  }
  if (state.uid_validity == 0) {
    return Error(Errc::invalid_value, "the IMAP server gave no UIDVALIDITY for the mailbox");
  }
  return state;
}

Result<std::vector<imap::FetchedMessage>> ImapConnection::fetch_from(uint32_t first_uid) {
  if (first_uid == 0) first_uid = 1;
  std::vector<imap::Response> untagged;
  SOTTO_TRY(run(imap::Command("UID FETCH")
                    .raw(std::to_string(first_uid) + ":*")
                    .raw("(UID FLAGS BODY.PEEK[])"),
                &untagged));
  std::vector<imap::FetchedMessage> out;
  for (const auto& r : untagged) {
    if (r.kind != imap::Response::Kind::numbered || r.name != "FETCH") continue;
    SOTTO_TRY_ASSIGN(imap::FetchedMessage m, imap::read_fetch(r));
    // "N:*" also names the last message when every UID is below N.
    if (!m.uid || *m.uid < first_uid || !m.body) continue;
    out.push_back(std::move(m));
  }
  return out;
}

Result<NewMail> ImapConnection::fetch_new(const std::string& mailbox, const MailboxCursor& cursor,
                                          size_t max_messages) {
  SOTTO_TRY_ASSIGN(MailboxState state, select(mailbox));
  FetchPlan plan = plan_fetch(cursor, state.uid_validity);
  NewMail out;
  out.restarted = plan.restarted;
  out.cursor =
      cursor.uid_validity == state.uid_validity ? cursor : MailboxCursor{state.uid_validity, 1};
  if (plan.first_uid > UINT32_MAX || state.exists == 0) return out;

  std::vector<imap::Response> untagged;
  SOTTO_TRY(run(imap::Command("UID SEARCH").raw("UID " + std::to_string(plan.first_uid) + ":*"),
                &untagged));
  std::vector<uint32_t> uids;
  for (const auto& r : untagged) {
    if (r.kind != imap::Response::Kind::data || r.name != "SEARCH") continue;
    for (const auto& v : r.values) {
      auto uid = v.as_uint32();
      if (!uid || *uid == 0) return Error(Errc::invalid_value, "a SEARCH answer that is not a UID");
      // "N:*" also names the last message when every UID is below N.
      if (*uid >= plan.first_uid) uids.push_back(*uid);
    }
  }
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  if (const size_t limit = std::max<size_t>(max_messages, 1); uids.size() > limit) {
    out.more = true;
    uids.resize(limit);
  }
  if (uids.empty()) return out;

  std::string set;
  for (uint32_t uid : uids) set += (set.empty() ? "" : ",") + std::to_string(uid);
  untagged.clear();
  SOTTO_TRY(run(imap::Command("UID FETCH").raw(set).raw("(UID FLAGS BODY.PEEK[])"), &untagged));
  for (const auto& r : untagged) {
    if (r.kind != imap::Response::Kind::numbered || r.name != "FETCH") continue;
    SOTTO_TRY_ASSIGN(imap::FetchedMessage m, imap::read_fetch(r));
    // A FETCH the server sends of its own accord (a flag changed) has no body; a UID that was
    // not asked for is not ours to take.
    if (!m.uid || !m.body || !std::binary_search(uids.begin(), uids.end(), *m.uid)) continue;
    out.messages.push_back(std::move(m));
  }
  std::sort(out.messages.begin(), out.messages.end(),
            [](const auto& a, const auto& b) { return *a.uid < *b.uid; });
  out.messages.erase(std::unique(out.messages.begin(), out.messages.end(),
                                 [](const auto& a, const auto& b) { return *a.uid == *b.uid; }),
                     out.messages.end());
  out.cursor = advance(out.cursor, state.uid_validity, uids.back());
  return out;
}

Result<uint32_t> ImapConnection::append(const std::string& mailbox, const std::string& message,
                                        const std::string& flags) {
  imap::Command command("APPEND");
  command.astring(mailbox);
  if (!flags.empty()) command.raw("(" + flags + ")");
  command.literal(message);
  SOTTO_TRY_ASSIGN(imap::StatusText status, run(command));
  if (status.code == "APPENDUID" && status.code_args.size() == 2) {
    if (auto uid = status.code_args[1].as_uint32()) return *uid;
  }
  return uint32_t{0};
}

Result<std::vector<imap::Response>> ImapConnection::idle(std::chrono::milliseconds wait) {
  if (!has("IDLE")) return Error(Errc::unsupported, "the IMAP server does not offer IDLE");
  std::vector<imap::Response> reported;
  SOTTO_TRY_ASSIGN(std::string tag, session_.start(imap::Command("IDLE")));
  for (;;) {
    SOTTO_TRY_ASSIGN(imap::Response r, next_response());
    if (r.kind == imap::Response::Kind::continuation) break;
    if (r.kind == imap::Response::Kind::tagged) {
      return Error(Errc::invalid_argument,
                   "the IMAP server refused IDLE: " + server_text(r.status.text));
    }
    reported.push_back(std::move(r));
  }
  // Idling: until the server reports something other than its keep-alive "* OK".
  const auto deadline = Clock::now() + wait;
  while (reported.empty()) {
    SOTTO_TRY_ASSIGN(auto r, next_response(deadline));
    if (!r) break;
    if (r->kind == imap::Response::Kind::status && r->status.status == imap::Status::ok) {
      continue;
    }
    if (r->kind == imap::Response::Kind::tagged || r->kind == imap::Response::Kind::continuation) {
      io_->close();
      return Error(Errc::invalid_value, "IMAP: an unexpected response while idling");
    }
    reported.push_back(std::move(*r));
  }
  SOTTO_TRY(session_.send_line("DONE"));
  SOTTO_TRY_ASSIGN(imap::StatusText status, wait_for(tag, &reported));
  if (status.status != imap::Status::ok) {
    return Error(Errc::invalid_argument, "IMAP IDLE ended with: " + server_text(status.text));
  }
  return reported;
}

Result<std::vector<imap::Response>> ImapConnection::wait_for_change(
    std::chrono::milliseconds wait, std::chrono::milliseconds poll_every) {
  if (!polls()) return idle(wait);
  poll_every = std::max(poll_every, std::chrono::milliseconds(100));
  const auto deadline = Clock::now() + wait;
  std::vector<imap::Response> reported;
  for (;;) {
    SOTTO_TRY(run(imap::Command("NOOP"), &reported));
    // Only what says the mailbox changed; a NOOP's answer may carry untagged "* OK" lines.
    std::erase_if(reported, [](const imap::Response& r) {
      return r.kind != imap::Response::Kind::numbered && r.kind != imap::Response::Kind::data;
    });
    if (!reported.empty()) return reported;
    auto now = Clock::now();
    if (now >= deadline) return reported;
    std::this_thread::sleep_for(std::min<Clock::duration>(poll_every, deadline - now));
  }
}

void ImapConnection::logout() {
  if (!io_->closed()) (void)run(imap::Command("LOGOUT"));
  io_->close();
}

}  // namespace sotto::mail
