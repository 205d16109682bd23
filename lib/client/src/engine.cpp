#include "sotto/client/engine.h"

#include <algorithm>
#include <set>
#include <utility>

#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/welcome.h"

namespace sotto::client {

namespace {

// The server's default frame limit is 1 MiB; a client accepts a little more so that a
// server configured higher still works, but never unbounded input.
constexpr size_t kMaxServerFrameBytes = 16 * 1024 * 1024;
constexpr size_t kGroupIdSize = 32;
constexpr uint32_t kMaxUploadBatch = 100;  // the server's limit per upload
constexpr uint64_t kClockSkewS = 3600;     // KeyPackages valid from an hour ago
// How many times a group change is built again after another member's commit won its epoch.
constexpr int kMaxCommitAttempts = 3;

// What a member's BasicCredential holds: the account's username and the device id, so that
// a receiver can look the account up in the key directory and match the leaf's key to the
// device's.
struct MemberIdentity {
  std::string username;
  Bytes device_id;
  SOTTO_TLS_FIELDS(username, device_id)
};

// The private halves of a KeyPackage, as stored.
struct KeyPackageSecrets {
  SecureBytes init_private_key;
  SecureBytes encryption_private_key;
  SecureBytes signature_private_key;
  SOTTO_TLS_FIELDS(init_private_key, encryption_private_key, signature_private_key)
};

// Encodes a value holding secrets without leaving a plain copy behind.
template <class T>
SecureBytes encode_secret(const T& value) {
  tls::Writer w;
  tls::write(w, value);
  Bytes plain = w.take();
  SecureBytes out(plain);
  secure_wipe(plain.data(), plain.size());
  return out;
}

SecureBytes serialize_group(const mls::Group& group) {
  Bytes plain = group.serialize();
  SecureBytes out(plain);
  secure_wipe(plain.data(), plain.size());
  return out;
}

// How long after a commit (on the server's clock) application messages of the epoch it ended
// still open: members who sent before they saw the commit (docs/groups.md).
constexpr uint64_t kPastEpochWindowMs = 10ull * 60 * 1000;

// Before `conversation` moves to the next epoch: its current state becomes the previous one,
// kept for messages the server takes until kPastEpochWindowMs after `commit_at` (0: the
// commit went to no one, so no one can send in the old epoch).
void keep_previous_epoch(Conversation& conversation, uint64_t commit_at) {
  if (commit_at == 0) {
    conversation.previous_group_state = SecureBytes();
    conversation.previous_epoch_until = 0;
    return;
  }
  conversation.previous_group_state = conversation.group_state;
  conversation.previous_epoch_until = commit_at + kPastEpochWindowMs;
}

uint64_t epoch_of(const mls::MlsMessage& message) {
  if (const auto* pub = std::get_if<mls::PublicMessage>(&message.content)) {
    return pub->content.epoch;
  }
  if (const auto* priv = std::get_if<mls::PrivateMessage>(&message.content)) return priv->epoch;
  return 0;
}

mls::Credential credential_for(const Identity& identity) {
  return mls::Credential{
      mls::BasicCredential{tls::encode(MemberIdentity{identity.username, identity.device_id})}};
}

Result<MemberIdentity> member_identity(const mls::Credential& credential) {
  const auto* basic = std::get_if<mls::BasicCredential>(&credential.content);
  if (basic == nullptr) return Error(Errc::invalid_value, "a member without a basic credential");
  auto id = tls::decode<MemberIdentity>(basic->identity);
  if (!id) return std::move(id).error().with_context("a member's credential");
  if (id->device_id.size() != proto::kIdSize || id->username.empty()) {
    return Error(Errc::invalid_value, "a member's credential names no device");
  }
  return std::move(id).value();
}

// The response of type T, or the error it carries, or Errc::invalid_value for another type.
template <class T>
Result<T> expect(Result<proto::ResponseBody> response, std::string_view what) {
  if (!response) return std::move(response).error().with_context(what);
  if (auto* body = std::get_if<T>(&response.value())) return std::move(*body);
  return Error(Errc::invalid_value, std::string(what) + ": the server answered another type");
}

Result<void> check_session(const proto::SessionResponse& s) {
  if (s.account_id.size() != proto::kIdSize || s.device_id.size() != proto::kIdSize ||
      s.token.empty()) {
    return Error(Errc::invalid_value, "a session with malformed ids or no token");
  }
  return success();
}

// Leaves of `group` other than ours, as member identities with their signature keys.
struct Member {
  MemberIdentity identity;
  Bytes signature_key;
  mls::LeafIndex leaf;
};

Result<std::vector<Member>> group_members(const mls::Group& group) {
  std::vector<Member> out;
  for (const auto& m : group.members()) {
    SOTTO_TRY_ASSIGN(auto id, member_identity(m.credential));
    out.push_back(Member{std::move(id), m.signature_key.data, m.leaf});
  }
  return out;
}

std::vector<std::string> member_names(const std::vector<Member>& members) {
  std::set<std::string> names;
  for (const auto& m : members) names.insert(m.identity.username);
  return {names.begin(), names.end()};
}

// The devices of `members` other than `own_device`: whom a group message goes to.
std::vector<Bytes> other_devices(const std::vector<Member>& members, BytesView own_device) {
  std::vector<Bytes> out;
  for (const auto& m : members) {
    if (!std::equal(m.identity.device_id.begin(), m.identity.device_id.end(), own_device.begin(),
                    own_device.end())) {
      out.push_back(m.identity.device_id);
    }
  }
  return out;
}

// The Remove of `leaf` a handshake message carries inline (a proposal, or one of a commit's
// proposals), if any. Proposals a commit names by reference are not seen here.
bool removes_leaf(const mls::MlsMessage& message, mls::LeafIndex leaf) {
  const auto* pub = std::get_if<mls::PublicMessage>(&message.content);
  if (pub == nullptr) return false;
  auto is_removal = [&](const mls::Proposal& p) {
    const auto* remove = std::get_if<mls::Remove>(&p.content);
    return remove != nullptr && remove->removed == leaf;
  };
  if (const auto* proposal = std::get_if<mls::Proposal>(&pub->content.content)) {
    return is_removal(*proposal);
  }
  if (const auto* commit = std::get_if<mls::Commit>(&pub->content.content)) {
    return std::any_of(commit->proposals.begin(), commit->proposals.end(),
                       [&](const mls::ProposalOrRef& p) {
                         const auto* inline_proposal = std::get_if<mls::Proposal>(&p.content);
                         return inline_proposal != nullptr && is_removal(*inline_proposal);
                       });
  }
  return false;
}

// The usernames a group operation names, normalised, each once; not ours.
Result<std::vector<std::string>> other_accounts(const std::vector<std::string>& usernames,
                                                const std::string& own) {
  std::vector<std::string> out;
  for (const auto& u : usernames) {
    std::string name = normalize_username(u);
    if (name == own) return Error(Errc::invalid_argument, "this account is in the group already");
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  if (out.empty()) return Error(Errc::invalid_argument, "no account named");
  return out;
}

bool is_permanent_send_error(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::not_found:
    case Errc::too_large:
    case Errc::forbidden:
    case Errc::invalid_value:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string normalize_username(std::string_view username) {
  std::string out(username);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// What start_conversation, create_group and add_members carry from one response to the next.
struct Engine::StartContext {
  Identity identity;
  std::vector<std::string> usernames;  // the accounts whose devices join, normalised
  std::string name;
  ConversationKind kind = ConversationKind::direct;
  bool with_own_devices = true;  // our own other devices join too
  std::vector<mls::KeyPackage> key_packages;
};

// One change of a group's members, kept so that it can be built again in a later epoch.
struct Engine::GroupChange {
  Bytes group_id;
  std::vector<mls::KeyPackage> adds;  // checked against verified lookups already
  std::vector<std::string> removes;   // accounts, normalised
  std::vector<Bytes> remove_devices;  // our own devices' leaves (a revoked device)
  // A change of our own devices applies to 1:1 conversations as well as to groups.
  bool any_kind = false;
  int attempts = 0;
};

Engine::Engine(EngineConfig config, ClientStore& store, Transport& transport, Environment& env,
               EngineObserver& observer)
    : config_(std::move(config)),
      store_(store),
      transport_(transport),
      env_(env),
      observer_(observer) {}

Engine::~Engine() = default;

bool Engine::has_identity() const {
  auto id = store_.identity();
  return id.ok() && id->has_value();
}

Result<Identity> Engine::require_identity() const {
  SOTTO_TRY_ASSIGN(auto id, store_.identity());
  if (!id) return Error(Errc::unauthenticated, "this device has no account yet");
  return std::move(*id);
}

Result<Identity> Engine::ready_identity() const {
  SOTTO_TRY_ASSIGN(auto identity, require_identity());
  if (state_ != ConnectionState::ready) {
    return Error(Errc::unavailable, "not connected and authenticated");
  }
  return identity;
}

mls::Random Engine::rng() {
  return [this](std::span<uint8_t> out) { env_.random(out); };
}

// ---- transport -------------------------------------------------------------------------

void Engine::on_connected() {
  state_ = ConnectionState::connected;
  if (!has_identity()) return;
  authenticate([this](Result<void> r) {
    if (!r) observer_.on_error(std::move(r).error().with_context("authenticating"));
  });
}

void Engine::on_disconnected() {
  state_ = ConnectionState::disconnected;
  fetching_ = false;
  refetch_ = false;
  topping_up_ = false;
  sending_.clear();
  fail_pending(Error(Errc::unavailable, "the connection was lost"));
}

void Engine::fail_pending(const Error& error) {
  // Handlers may start new requests (which fail at once while disconnected): take the map.
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, handler] : pending) handler(error);
}

void Engine::on_frame(BytesView bytes) {
  auto frame = proto::decode_server_frame(bytes, kMaxServerFrameBytes);
  if (!frame) {
    observer_.on_error(std::move(frame).error().with_context("a server frame"));
    return;
  }
  if (auto* response = std::get_if<proto::Response>(&frame->content)) {
    handle_response(std::move(*response));
  } else {
    handle_event(std::get<proto::Event>(std::move(frame->content)));
  }
}

void Engine::request(proto::Request request, ResponseHandler handler) {
  if (state_ == ConnectionState::disconnected) {
    handler(Error(Errc::unavailable, "not connected"));
    return;
  }
  const uint64_t id = next_request_id_++;
  pending_.emplace(id, std::move(handler));
  proto::ClientFrame frame{proto::kVersion, id, std::move(request)};
  Bytes encoded = proto::encode(frame);
  proto::wipe_secrets(frame.request);  // the transport wipes its frames once written
  transport_.send(std::move(encoded));
}

void Engine::handle_response(proto::Response response) {
  auto it = pending_.find(response.request_id);
  if (it == pending_.end()) {
    if (auto* e = std::get_if<proto::ErrorResponse>(&response.body)) {
      observer_.on_error(proto::to_error(*e).with_context(
          "the server refused a frame (request id " + std::to_string(response.request_id) + ")"));
    } else {
      observer_.on_error(Error(Errc::invalid_value, "a response to no request in flight (id " +
                                                        std::to_string(response.request_id) + ")"));
    }
    return;
  }
  ResponseHandler handler = std::move(it->second);
  pending_.erase(it);
  if (auto* e = std::get_if<proto::ErrorResponse>(&response.body)) {
    handler(proto::to_error(*e));
  } else {
    handler(std::move(response.body));
  }
}

void Engine::handle_event(proto::Event event) {
  if (auto* m = std::get_if<proto::MessageEvent>(&event.event)) {
    if (fetching_) {
      // Processed in queue order by the fetch, which reads on until the queue is drained.
      refetch_ = true;
      return;
    }
    std::vector<uint64_t> acks;
    process_queued(m->message, acks);
    ack(std::move(acks));
    send_delivery_receipts();
    commit_pending_proposals();
  } else if (std::get_if<proto::KeyPackagesLowEvent>(&event.event) != nullptr) {
    top_up_key_packages();
  } else if (auto* ended = std::get_if<proto::SessionEndedEvent>(&event.event)) {
    state_ = ConnectionState::connected;
    observer_.on_session_ended(static_cast<Errc>(ended->reason));
  }
}

// ---- account ---------------------------------------------------------------------------

Result<std::pair<SecureBytes, crypto::Ed25519SigningKey>> Engine::new_device_key() {
  if (has_identity()) return Error(Errc::already_exists, "this device already has an account");
  SecureBytes seed(crypto::kEd25519SeedSize);
  random({seed.data(), seed.size()});
  SOTTO_TRY_ASSIGN(auto key, crypto::Ed25519SigningKey::from_seed(seed));
  return std::make_pair(std::move(seed), std::move(key));
}

void Engine::register_account(Registration registration, Done done) {
  auto device_key = new_device_key();
  if (!device_key) return done(std::move(device_key).error());
  const SecureBytes seed = std::move(device_key->first);
  const crypto::Ed25519SigningKey& key = device_key->second;
  const std::string username = normalize_username(registration.username);
  proto::RegisterAccount r;
  r.username = username;
  r.email = std::move(registration.email);
  r.password = std::move(registration.password);
  r.invite_code = std::move(registration.invite_code);
  r.display_name = std::move(registration.display_name);
  r.device = proto::DeviceKey{key.public_key(), config_.device_name};
  request(std::move(r), [this, username, seed, done](Result<proto::ResponseBody> response) {
    auto session = expect<proto::SessionResponse>(std::move(response), "register");
    if (!session) return done(std::move(session).error());
    after_session(*session, username, seed, done);
  });
}

void Engine::login(std::string username, std::string password, Done done) {
  auto device_key = new_device_key();
  if (!device_key) return done(std::move(device_key).error());
  const SecureBytes seed = std::move(device_key->first);
  const crypto::Ed25519SigningKey& key = device_key->second;
  const std::string name = normalize_username(username);
  proto::Login r{name, std::move(password),
                 proto::DeviceKey{key.public_key(), config_.device_name}};
  request(std::move(r), [this, name, seed, done](Result<proto::ResponseBody> response) {
    auto session = expect<proto::SessionResponse>(std::move(response), "login");
    if (!session) return done(std::move(session).error());
    after_session(*session, name, seed, done);
  });
}

void Engine::after_session(const proto::SessionResponse& session, const std::string& username,
                           const SecureBytes& seed, Done done) {
  if (auto checked = check_session(session); !checked) return done(std::move(checked).error());
  ClientStoreBatch batch;
  batch.identity = Identity{username, session.account_id,         session.device_id,
                            seed,     SecureBytes(session.token), session.expires_at};
  if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
  state_ = ConnectionState::ready;
  observer_.on_authenticated();
  upload_key_packages(config_.key_package_batch, true, std::move(done));
}

void Engine::authenticate(Done done) {
  auto identity = require_identity();
  if (!identity) return done(std::move(identity).error());
  state_ = ConnectionState::authenticating;
  const Bytes device_id = identity->device_id;
  const SecureBytes seed = identity->signature_seed;
  request(proto::AuthChallenge{}, [this, device_id, seed,
                                   done](Result<proto::ResponseBody> response) {
    auto challenge = expect<proto::ChallengeResponse>(std::move(response), "auth_challenge");
    if (!challenge) {
      if (state_ == ConnectionState::authenticating) state_ = ConnectionState::connected;
      return done(std::move(challenge).error());
    }
    auto key = crypto::Ed25519SigningKey::from_seed(seed);
    if (!key) return done(std::move(key).error());
    proto::AuthDevice auth{device_id, challenge->challenge,
                           key->sign(proto::device_auth_message(challenge->challenge, device_id))};
    request(std::move(auth), [this, done](Result<proto::ResponseBody> answer) {
      auto session = expect<proto::SessionResponse>(std::move(answer), "auth_device");
      if (!session) {
        if (state_ == ConnectionState::authenticating) state_ = ConnectionState::connected;
        return done(std::move(session).error());
      }
      if (auto checked = check_session(*session); !checked) return done(std::move(checked).error());
      auto current = require_identity();
      if (!current) return done(std::move(current).error());
      if (current->device_id != session->device_id) {
        return done(Error(Errc::invalid_value, "the server authenticated another device"));
      }
      ClientStoreBatch batch;
      current->session_token = SecureBytes(session->token);
      current->session_expires_at = session->expires_at;
      batch.identity = std::move(current).value();
      if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
      state_ = ConnectionState::ready;
      on_ready();
      done(success());
    });
  });
}

void Engine::on_ready() {
  observer_.on_authenticated();
  // The queue first: a commit in it moves the epoch, and what waits in the outbox is then
  // protected again in the new one (reprotect_if_stale) rather than sent in a past epoch.
  fetch([this](Result<void> r) {
    if (!r) observer_.on_error(std::move(r).error().with_context("fetching"));
    resend_outbox();
  });
  top_up_key_packages();
  // A device of this account that no device of ours linked is news the user must hear.
  check_own_account([this](Result<Contact> r) {
    if (!r && r.error().code() != Errc::unavailable) {
      observer_.on_error(std::move(r).error().with_context("checking this account's devices"));
    }
  });
}

void Engine::upload_key_packages(uint32_t count, bool last_resort, Done done) {
  auto identity = require_identity();
  if (!identity) return done(std::move(identity).error());
  auto suite = crypto::CipherSuite::create(config_.cipher_suite);
  if (!suite) return done(std::move(suite).error());
  count = std::min(count, kMaxUploadBatch);
  const uint64_t now = now_s();
  const mls::Lifetime lifetime{now - std::min(now, kClockSkewS),
                               now + config_.key_package_lifetime_s};
  ClientStoreBatch batch;
  proto::UploadKeyPackages upload;
  const uint32_t total = count + (last_resort ? 1 : 0);
  for (uint32_t i = 0; i < total; ++i) {
    auto bundle = mls::create_key_package(static_cast<crypto::SuiteId>(config_.cipher_suite),
                                          credential_for(*identity), identity->signature_seed,
                                          lifetime, rng());
    if (!bundle) return done(std::move(bundle).error().with_context("making a KeyPackage"));
    const bool is_last_resort = last_resort && i == count;
    StoredKeyPackage stored;
    stored.ref = mls::key_package_ref(*suite, bundle->key_package);
    stored.key_package = tls::encode(bundle->key_package);
    stored.private_keys = encode_secret(KeyPackageSecrets{
        bundle->private_keys.init_private_key, bundle->private_keys.encryption_private_key,
        bundle->private_keys.signature_private_key});
    stored.last_resort = is_last_resort;
    batch.put_key_packages.push_back(std::move(stored));
    mls::MlsMessage framed;
    framed.content = std::move(bundle->key_package);
    if (is_last_resort) {
      upload.last_resort = tls::encode(framed);
    } else {
      upload.key_packages.push_back(tls::encode(framed));
    }
  }
  // The private keys are stored before the public halves leave: a Welcome may come for any
  // KeyPackage the server holds.
  if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
  request(std::move(upload), [done](Result<proto::ResponseBody> response) {
    auto stock = expect<proto::KeyPackageStockResponse>(std::move(response), "upload_key_packages");
    if (!stock) return done(std::move(stock).error());
    done(success());
  });
}

void Engine::top_up_key_packages() {
  if (topping_up_ || state_ != ConnectionState::ready) return;
  topping_up_ = true;
  request(proto::KeyPackageStockRequest{}, [this](Result<proto::ResponseBody> response) {
    auto stock = expect<proto::KeyPackageStockResponse>(std::move(response), "key_package_stock");
    if (!stock) {
      topping_up_ = false;
      observer_.on_error(std::move(stock).error());
      return;
    }
    if (stock->count >= config_.key_package_low && stock->has_last_resort) {
      topping_up_ = false;
      return;
    }
    const uint32_t want =
        config_.key_package_batch > stock->count ? config_.key_package_batch - stock->count : 0;
    upload_key_packages(want, stock->has_last_resort == 0, [this](Result<void> r) {
      topping_up_ = false;
      if (!r) observer_.on_error(std::move(r).error().with_context("topping up KeyPackages"));
    });
  });
}

void Engine::export_account(Then<std::string> done) {
  if (state_ != ConnectionState::ready) {
    return done(Error(Errc::unavailable, "not connected and authenticated"));
  }
  request(proto::ExportAccount{}, [done](Result<proto::ResponseBody> r) {
    auto exported = expect<proto::AccountExportResponse>(std::move(r), "export_account");
    if (!exported) return done(std::move(exported).error());
    done(std::move(exported->json));
  });
}

void Engine::delete_account(std::string password, Done done) {
  if (state_ != ConnectionState::ready) {
    return done(Error(Errc::unavailable, "not connected and authenticated"));
  }
  proto::DeleteAccount erase{std::move(password)};
  request(std::move(erase), [done](Result<proto::ResponseBody> r) {
    auto erased = expect<proto::EmptyResponse>(std::move(r), "delete_account");
    if (!erased) return done(std::move(erased).error());
    done(success());
  });
}

// ---- contacts --------------------------------------------------------------------------

void Engine::lookup_contact(std::string username, Then<Contact> done) {
  queue_directory_task([this, name = normalize_username(username), done](Done finished) {
    lookup_now(name, [done, finished](Result<Contact> r) {
      done(std::move(r));
      finished(success());
    });
  });
}

Result<bool> Engine::directory_split_view() const {
  SOTTO_TRY_ASSIGN(auto state, store_.directory_state());
  SOTTO_TRY_ASSIGN(auto verifier, DirectoryVerifier::restore(state));
  return verifier.split_view();
}

void Engine::queue_directory_task(std::function<void(Done)> task) {
  directory_tasks_.push_back(std::move(task));
  if (!directory_busy_) next_directory_task();
}

void Engine::next_directory_task() {
  if (directory_tasks_.empty()) {
    directory_busy_ = false;
    return;
  }
  directory_busy_ = true;
  auto task = std::move(directory_tasks_.front());
  directory_tasks_.pop_front();
  task([this](Result<void>) { next_directory_task(); });
}

void Engine::lookup_now(std::string name, Then<Contact> done) {
  auto state = store_.directory_state();
  if (!state) return done(std::move(state).error());
  auto verifier = DirectoryVerifier::restore(*state);
  if (!verifier) return done(std::move(verifier).error());
  if (verifier->split_view()) {
    return done(Error(Errc::split_view,
                      "the key directory showed another member a log that does not agree with "
                      "ours, so keys it serves cannot be trusted"));
  }
  request(proto::KtLookup{name, verifier->known_log_size()}, [this, name,
                                                              done](Result<proto::ResponseBody> r) {
    auto proof = expect<proto::KtProofResponse>(std::move(r), "kt_lookup");
    if (!proof) return done(std::move(proof).error());
    // The newest head known when the answer comes, not when the question left: another
    // lookup may have moved it meanwhile.
    auto newest = store_.directory_state();
    if (!newest) return done(std::move(newest).error());
    auto checker = DirectoryVerifier::restore(*newest);
    if (!checker) return done(std::move(checker).error());
    auto verified = checker->verify_lookup(name, proof->proof, config_.directory_keys, now_s());
    if (!verified) {
      return done(
          std::move(verified).error().with_context("the key directory's proof for " + name));
    }
    ClientStoreBatch batch;
    batch.directory_state = checker->save();
    if (verified->erased) {
      if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
      return done(Error(Errc::not_found, name + " was erased"));
    }
    Contact contact{name, std::move(verified->devices), verified->version, verified->epoch};
    auto before = store_.contact(name);
    if (!before) return done(std::move(before).error());
    batch.put_contacts.push_back(contact);
    if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
    auto identity = store_.identity();
    const bool own = identity && *identity && (*identity)->username == name;
    // Our own devices change as we link and revoke them: only unknown ones are news.
    if (*before && !own && (*before)->devices != contact.devices) {
      observer_.on_contact_keys_changed(**before, contact);
    }
    // Our own account: a device that appeared since the last lookup and that this device did
    // not link itself. The first lookup is the baseline (a new device cannot tell).
    if (*before && own) {
      for (const auto& d : contact.devices) {
        const bool known =
            d.device_id == (*identity)->device_id || linked_devices_.count(d.device_id) != 0 ||
            std::any_of((*before)->devices.begin(), (*before)->devices.end(),
                        [&](const ContactDevice& b) { return b.device_id == d.device_id; });
        if (!known) observer_.on_unknown_own_device(d);
      }
    }
    done(std::move(contact));
  });
}

void Engine::compare_head(std::string from, Bytes gossip, Done done) {
  // Saves what the comparison left in the verifier (a moved head, or the evidence of a split
  // view), and tells what a failure means.
  auto settle = [this, from](DirectoryVerifier& verifier, Result<void> compared) {
    ClientStoreBatch batch;
    batch.directory_state = verifier.save();
    if (auto stored = store_.apply(batch); !stored) return observer_.on_error(stored.error());
    if (compared) return;
    if (compared.error().code() == Errc::split_view) return observer_.on_directory_split_view(from);
    // A head we cannot compare yet (none held) is no news; a bad one is the sender's fault.
    if (compared.error().code() == Errc::not_found) return;
    observer_.on_error(std::move(compared).error().with_context("a key-directory head from " + from));
  };
  auto state = store_.directory_state();
  if (!state) return done(std::move(state).error());
  auto verifier = DirectoryVerifier::restore(*state);
  if (!verifier) return done(std::move(verifier).error());
  if (verifier->split_view()) return done(success());  // found already; the user was told
  auto check = verifier->receive_gossip(gossip, config_.directory_keys);
  if (!check) {
    settle(*verifier, std::move(check).error());
    return done(success());
  }
  if (!*check) return done(success());  // the same head
  proto::KtConsistency ask{(*check)->first, (*check)->second};
  request(ask, [this, gossip, settle, done](Result<proto::ResponseBody> r) {
    auto hashes = expect<proto::KtHashesResponse>(std::move(r), "kt_consistency");
    if (!hashes) {
      observer_.on_error(std::move(hashes).error().with_context("comparing directory heads"));
      return done(success());
    }
    // Directory work runs one task at a time: the state is still the one compared above.
    auto now_state = store_.directory_state();
    if (!now_state) return done(std::move(now_state).error());
    auto current = DirectoryVerifier::restore(*now_state);
    if (!current) return done(std::move(current).error());
    settle(*current, current->complete_gossip(gossip, hashes->hashes, config_.directory_keys));
    done(success());
  });
}

Result<std::vector<mls::KeyPackage>> Engine::check_claimed(
    const Contact& contact, const std::vector<proto::ClaimedKeyPackage>& claimed,
    BytesView skip_device) const {
  std::vector<mls::KeyPackage> out;
  std::set<Bytes> seen;
  for (const auto& c : claimed) {
    if (std::equal(c.device_id.begin(), c.device_id.end(), skip_device.begin(),
                   skip_device.end())) {
      continue;
    }
    auto device = std::find_if(contact.devices.begin(), contact.devices.end(),
                               [&](const ContactDevice& d) { return d.device_id == c.device_id; });
    if (device == contact.devices.end()) {
      return Error(Errc::bad_proof, "a KeyPackage for a device the key directory does not list");
    }
    if (!seen.insert(c.device_id).second) {
      return Error(Errc::invalid_value, "two KeyPackages for one device");
    }
    auto framed = tls::decode<mls::MlsMessage>(c.key_package);
    if (!framed) return std::move(framed).error().with_context("a claimed KeyPackage");
    auto* kp = std::get_if<mls::KeyPackage>(&framed->content);
    if (kp == nullptr) return Error(Errc::invalid_value, "a claimed KeyPackage is another message");
    if (kp->leaf_node.signature_key.data != device->signature_key) {
      return Error(Errc::bad_proof,
                   "a KeyPackage signed by a key the key directory does not hold for its device");
    }
    SOTTO_TRY_ASSIGN(auto id, member_identity(kp->leaf_node.credential));
    if (id.username != contact.username || id.device_id != c.device_id) {
      return Error(Errc::invalid_value, "a KeyPackage whose credential names another device");
    }
    out.push_back(std::move(*kp));
  }
  return out;
}

void Engine::claim_for(Contact contact, Bytes skip_device,
                       Then<std::vector<mls::KeyPackage>> done) {
  const std::string name = contact.username;
  request(proto::ClaimKeyPackages{name}, [this, contact, skip_device,
                                          done](Result<proto::ResponseBody> r) {
    auto claimed = expect<proto::ClaimedKeyPackagesResponse>(std::move(r), "claim_key_packages");
    if (!claimed) return done(std::move(claimed).error());
    auto checked = check_claimed(contact, claimed->key_packages, skip_device);
    if (!checked && checked.error().code() == Errc::bad_proof) {
      return done(std::move(checked).error().with_context(
          "the server's keys for " + contact.username + " do not match the key directory"));
    }
    done(std::move(checked));
  });
}

void Engine::claim_members(std::shared_ptr<StartContext> context, size_t index, Done done) {
  if (index == context->usernames.size()) {
    if (!context->with_own_devices) return done(success());
    // Our own other devices join too, so that the conversation follows us.
    return lookup_contact(context->identity.username, [this, context, done](Result<Contact> own) {
      if (!own) return done(std::move(own).error().with_context("our own account"));
      const bool others = std::any_of(
          own->devices.begin(), own->devices.end(),
          [&](const ContactDevice& d) { return d.device_id != context->identity.device_id; });
      if (!others) return done(success());
      claim_for(*own, context->identity.device_id,
                [context, done](Result<std::vector<mls::KeyPackage>> ours) {
                  if (!ours) return done(std::move(ours).error().with_context("our devices"));
                  for (auto& kp : *ours) context->key_packages.push_back(std::move(kp));
                  done(success());
                });
    });
  }
  const std::string name = context->usernames[index];
  lookup_contact(name, [this, context, index, name, done](Result<Contact> contact) {
    if (!contact) return done(std::move(contact).error());
    if (contact->devices.empty()) return done(Error(Errc::not_found, name + " has no device"));
    claim_for(*contact, {},
              [this, context, index, name, done](Result<std::vector<mls::KeyPackage>> theirs) {
                if (!theirs) return done(std::move(theirs).error());
                if (theirs->empty())
                  return done(Error(Errc::not_found, "no KeyPackage for " + name));
                for (auto& kp : *theirs) context->key_packages.push_back(std::move(kp));
                claim_members(context, index + 1, done);
              });
  });
}

void Engine::start_conversation(std::string username, Then<Bytes> done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  const std::string name = normalize_username(username);
  if (name == identity->username) {
    return done(Error(Errc::invalid_argument, "a conversation needs another account"));
  }
  auto context = std::make_shared<StartContext>();
  context->identity = std::move(identity).value();
  context->usernames = {name};
  context->name = name;
  claim_members(context, 0, [this, context, done](Result<void> claimed) {
    if (!claimed) return done(std::move(claimed).error());
    create_conversation(context, done);
  });
}

void Engine::create_group(std::string name, std::vector<std::string> usernames, Then<Bytes> done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  if (auto checked = check_group_name(name); !checked) {
    return done(Error(Errc::invalid_argument, checked.error().message()));
  }
  auto accounts = other_accounts(usernames, identity->username);
  if (!accounts) return done(std::move(accounts).error());
  auto context = std::make_shared<StartContext>();
  context->identity = std::move(identity).value();
  context->usernames = std::move(accounts).value();
  context->name = std::move(name);
  context->kind = ConversationKind::group;
  claim_members(context, 0, [this, context, done](Result<void> claimed) {
    if (!claimed) return done(std::move(claimed).error());
    create_conversation(context, done);
  });
}

void Engine::create_conversation(std::shared_ptr<StartContext> context, Then<Bytes> done) {
  Bytes group_id(kGroupIdSize);
  random(group_id);
  auto group = mls::Group::create(static_cast<crypto::SuiteId>(config_.cipher_suite), group_id,
                                  credential_for(context->identity),
                                  context->identity.signature_seed, rng());
  if (!group) return done(std::move(group).error().with_context("creating the group"));
  std::vector<mls::Proposal> adds;
  std::vector<Bytes> recipients;
  for (const auto& kp : context->key_packages) {
    auto add = group->propose_add(kp, now_s());
    if (!add) return done(std::move(add).error().with_context("a claimed KeyPackage"));
    adds.push_back(std::move(add).value());
    auto id = member_identity(kp.leaf_node.credential);
    if (!id) return done(std::move(id).error());
    recipients.push_back(id->device_id);
  }
  auto commit = group->commit(adds, rng(), now_s());
  if (!commit) return done(std::move(commit).error().with_context("committing the adds"));
  if (!commit->output.welcome)
    return done(Error(Errc::internal, "a commit of adds without a Welcome"));
  auto members = group_members(commit->next);
  if (!members) return done(std::move(members).error());

  Conversation conversation;
  conversation.group_id = group_id;
  conversation.name = context->name;
  conversation.kind = context->kind;
  conversation.members = member_names(*members);
  conversation.group_state = serialize_group(commit->next);
  // Every key was checked against a verified lookup before it was added.
  conversation.members_verified = true;

  // The group is new, so no current member but us needs the commit: the Welcome carries the
  // commit order of epoch 0, which also claims the group id at the server.
  proto::Send send;
  send.message_id = Bytes(proto::kMessageIdSize);
  random(send.message_id);
  send.recipients = std::move(recipients);
  send.commit = proto::CommitOrder{group_id, group->epoch()};
  send.payload = tls::encode(*commit->output.welcome);
  request(std::move(send), [this, conversation, done](Result<proto::ResponseBody> r) {
    auto sent = expect<proto::SentResponse>(std::move(r), "sending the Welcome");
    if (!sent) return done(std::move(sent).error());
    ClientStoreBatch batch;
    batch.put_conversations.push_back(conversation);
    if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
    observer_.on_conversation(conversation);
    done(conversation.group_id);
    // Those who joined learn the group's name from its first message.
    if (conversation.kind == ConversationKind::group) send_group_metadata(conversation.group_id);
  });
}

// ---- groups ----------------------------------------------------------------------------

Result<std::vector<Conversation>> Engine::groups() const {
  SOTTO_TRY_ASSIGN(auto all, store_.conversations());
  std::vector<Conversation> out;
  for (auto& c : all) {
    if (c.kind == ConversationKind::group) out.push_back(std::move(c));
  }
  return out;
}

namespace {

// The group conversation `group_id` this device is still in, or why not.
Result<Conversation> member_of_group(const ClientStore& store, BytesView group_id) {
  SOTTO_TRY_ASSIGN(auto found, store.conversation(group_id));
  if (!found) return Error(Errc::not_found, "no such conversation");
  if (found->kind != ConversationKind::group) {
    return Error(Errc::invalid_argument, "a 1:1 conversation has no members to change");
  }
  if (found->membership != Membership::member) {
    return Error(Errc::not_found, "this device is no longer in the group");
  }
  return std::move(*found);
}

// Any conversation, 1:1 or group, that this device is still in.
Result<Conversation> member_of_conversation(const ClientStore& store, BytesView group_id) {
  SOTTO_TRY_ASSIGN(auto found, store.conversation(group_id));
  if (!found) return Error(Errc::not_found, "no such conversation");
  if (found->membership != Membership::member) {
    return Error(Errc::not_found, "this device is no longer in the conversation");
  }
  return std::move(*found);
}

}  // namespace

void Engine::add_members(BytesView group_id, std::vector<std::string> usernames, Done done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  auto conversation = member_of_group(store_, group_id);
  if (!conversation) return done(std::move(conversation).error());
  auto accounts = other_accounts(usernames, identity->username);
  if (!accounts) return done(std::move(accounts).error());
  for (const auto& name : *accounts) {
    const auto& members = conversation->members;
    if (std::find(members.begin(), members.end(), name) != members.end()) {
      return done(Error(Errc::already_exists, name + " is in the group already"));
    }
  }
  auto context = std::make_shared<StartContext>();
  context->identity = std::move(identity).value();
  context->usernames = std::move(accounts).value();
  context->with_own_devices = false;
  auto change = std::make_shared<GroupChange>();
  change->group_id = Bytes(group_id.begin(), group_id.end());
  claim_members(context, 0, [this, context, change, done](Result<void> claimed) {
    if (!claimed) return done(std::move(claimed).error());
    change->adds = std::move(context->key_packages);
    commit_change(change, done);
  });
}

void Engine::remove_members(BytesView group_id, std::vector<std::string> usernames, Done done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  std::vector<std::string> accounts;
  for (const auto& u : usernames) accounts.push_back(normalize_username(u));
  if (std::find(accounts.begin(), accounts.end(), identity->username) != accounts.end()) {
    return done(
        Error(Errc::invalid_argument, "a member leaves the group rather than remove itself"));
  }
  if (accounts.empty()) return done(Error(Errc::invalid_argument, "no account named"));
  auto change = std::make_shared<GroupChange>();
  change->group_id = Bytes(group_id.begin(), group_id.end());
  change->removes = std::move(accounts);
  commit_change(change, std::move(done));
}

void Engine::commit_change(std::shared_ptr<GroupChange> change, Done done) {
  auto identity = require_identity();
  if (!identity) return done(std::move(identity).error());
  auto conversation = change->any_kind ? member_of_conversation(store_, change->group_id)
                                       : member_of_group(store_, change->group_id);
  if (!conversation) return done(std::move(conversation).error());
  auto group = mls::Group::deserialize(conversation->group_state);
  if (!group) return done(std::move(group).error().with_context("the group's state"));
  auto members = group_members(*group);
  if (!members) return done(std::move(members).error());

  std::vector<mls::Proposal> proposals;
  for (const auto& name : change->removes) {
    bool found = false;
    for (const auto& m : *members) {
      if (m.identity.username != name) continue;
      auto remove = group->propose_remove(m.leaf);
      if (!remove) return done(std::move(remove).error());
      proposals.push_back(std::move(remove).value());
      found = true;
    }
    if (!found) return done(Error(Errc::not_found, name + " is not in the group"));
  }
  for (const auto& device : change->remove_devices) {
    // Absent already (another device of ours removed it first): nothing to do.
    for (const auto& m : *members) {
      if (m.identity.device_id != device) continue;
      auto remove = group->propose_remove(m.leaf);
      if (!remove) return done(std::move(remove).error());
      proposals.push_back(std::move(remove).value());
    }
  }
  std::vector<Bytes> welcome_to;
  for (const auto& kp : change->adds) {
    auto id = member_identity(kp.leaf_node.credential);
    if (!id) return done(std::move(id).error());
    const bool present = std::any_of(members->begin(), members->end(), [&](const Member& m) {
      return m.identity.device_id == id->device_id;
    });
    if (present)
      return done(Error(Errc::already_exists, id->username + " is in the group already"));
    auto add = group->propose_add(kp, now_s());
    if (!add) return done(std::move(add).error().with_context("a claimed KeyPackage"));
    proposals.push_back(std::move(add).value());
    welcome_to.push_back(id->device_id);
  }
  // Nothing asked and nothing pending (another member committed it first): done.
  if (proposals.empty() && group->cached_proposal_count() == 0) return done(success());
  auto commit = group->commit(proposals, rng(), now_s());
  if (!commit) return done(std::move(commit).error().with_context("committing"));

  // Every member of the epoch the commit leaves hears of it, those it removes included,
  // but a revoked device: the server has no queue for it any more.
  std::vector<Bytes> recipients = other_devices(*members, identity->device_id);
  recipients.erase(std::remove_if(recipients.begin(), recipients.end(),
                                  [&](const Bytes& d) {
                                    return std::find(change->remove_devices.begin(),
                                                     change->remove_devices.end(),
                                                     d) != change->remove_devices.end();
                                  }),
                   recipients.end());
  if (recipients.empty()) {
    return after_commit(change, std::move(commit->next), std::move(welcome_to),
                        std::move(commit->output.welcome), 0, std::move(done));
  }
  proto::Send send;
  send.message_id = Bytes(proto::kMessageIdSize);
  random(send.message_id);
  send.recipients = std::move(recipients);
  send.commit = proto::CommitOrder{change->group_id, group->epoch()};
  send.payload = tls::encode(commit->output.commit);
  auto result = std::make_shared<mls::CommitResult>(std::move(commit).value());
  request(std::move(send), [this, change, result, welcome_to, done](Result<proto::ResponseBody> r) {
    auto sent = expect<proto::SentResponse>(std::move(r), "sending the commit");
    if (sent) {
      return after_commit(change, std::move(result->next), welcome_to,
                          std::move(result->output.welcome), sent->accepted_at, done);
    }
    if (sent.error().code() != Errc::conflict) return done(std::move(sent).error());
    // Another member committed first in this epoch: take its commit in, then build ours
    // again on the epoch it made.
    if (++change->attempts >= kMaxCommitAttempts) {
      return done(Error(Errc::conflict,
                        "other members kept changing the group at the same time: try again"));
    }
    fetch([this, change, done](Result<void> fetched) {
      if (!fetched) return done(std::move(fetched).error().with_context("after a commit conflict"));
      commit_change(change, done);
    });
  });
}

void Engine::after_commit(std::shared_ptr<GroupChange> change, mls::Group next,
                          std::vector<Bytes> welcome_to, std::optional<mls::MlsMessage> welcome,
                          uint64_t accepted_at, Done done) {
  auto found = store_.conversation(change->group_id);
  if (!found) return done(std::move(found).error());
  if (!*found) return done(Error(Errc::not_found, "the conversation is gone"));
  Conversation conversation = std::move(**found);
  auto members = group_members(next);
  if (!members) return done(std::move(members).error());
  conversation.members = member_names(*members);
  keep_previous_epoch(conversation, accepted_at);
  conversation.group_state = serialize_group(next);
  ClientStoreBatch batch;
  batch.put_conversations.push_back(conversation);
  // The Welcome waits in the outbox like a message, so that a lost connection does not lose
  // the new members.
  std::optional<OutboxEntry> entry;
  if (welcome && !welcome_to.empty()) {
    entry = OutboxEntry{Bytes(proto::kMessageIdSize), change->group_id, std::move(welcome_to),
                        tls::encode(*welcome), env_.now_ms()};
    random(entry->message_id);
    batch.put_outbox.push_back(*entry);
  }
  if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
  observer_.on_conversation(conversation);
  done(success());
  if (!entry) return;
  // The name goes out once the new members can read it: after their Welcome.
  send_outbox_entry(std::move(*entry), [this, group_id = change->group_id](Result<void> sent) {
    if (sent) send_group_metadata(group_id);
  });
}

Result<OutboxEntry> Engine::protect_for_outbox(mls::Group& group, const AppMessage& app,
                                               std::vector<Bytes> recipients) {
  Bytes plain = encode_app_message(app);
  SecureBytes encoded(plain);
  secure_wipe(plain.data(), plain.size());
  // Checks what a receiver checks, so that we never send what it refuses.
  SOTTO_TRY(decode_app_message(encoded.view()));
  auto sealed = group.protect(encoded.view(), rng());
  if (!sealed) return std::move(sealed).error().with_context("protecting the message");
  OutboxEntry entry{app.message_id, group.group_id(), std::move(recipients),
                    tls::encode(*sealed), env_.now_ms()};
  entry.content = std::move(encoded);
  entry.epoch = group.epoch();
  return entry;
}

void Engine::send_group_metadata(Bytes group_id) {
  auto identity = require_identity();
  auto conversation = member_of_group(store_, group_id);
  if (!identity || !conversation) return;
  auto group = mls::Group::deserialize(conversation->group_state);
  if (!group) return observer_.on_error(std::move(group).error());
  auto members = group_members(*group);
  if (!members) return observer_.on_error(std::move(members).error());
  std::vector<Bytes> recipients = other_devices(*members, identity->device_id);
  if (recipients.empty()) return;
  AppMessage app;
  app.message_id = Bytes(kMessageIdSize);
  random(app.message_id);
  app.sent_at = env_.now_ms();
  app.content = GroupMetadataContent{conversation->name};
  auto entry = protect_for_outbox(*group, app, std::move(recipients));
  if (!entry) return observer_.on_error(std::move(entry).error());
  conversation->group_state = serialize_group(*group);
  ClientStoreBatch batch;
  batch.put_conversations.push_back(std::move(conversation).value());
  batch.put_outbox.push_back(*entry);
  if (auto stored = store_.apply(batch); !stored) return observer_.on_error(stored.error());
  if (state_ == ConnectionState::ready) send_outbox_entry(std::move(entry).value());
}

void Engine::leave_group(BytesView group_id, Done done) {
  auto identity = require_identity();
  if (!identity) return done(std::move(identity).error());
  auto conversation = member_of_group(store_, group_id);
  if (!conversation) return done(std::move(conversation).error());
  auto group = mls::Group::deserialize(conversation->group_state);
  if (!group) return done(std::move(group).error().with_context("the group's state"));
  auto members = group_members(*group);
  if (!members) return done(std::move(members).error());
  std::vector<Bytes> recipients = other_devices(*members, identity->device_id);

  // One Remove proposal per leaf of this account, each kept in the outbox until sent.
  ClientStoreBatch batch;
  for (const auto& m : *members) {
    if (m.identity.username != identity->username || recipients.empty()) continue;
    auto remove = group->propose_remove(m.leaf);
    if (!remove) return done(std::move(remove).error());
    auto proposal = group->send_proposal(*remove, rng());
    if (!proposal) return done(std::move(proposal).error().with_context("proposing to leave"));
    *group = std::move(proposal->next);
    OutboxEntry entry{Bytes(proto::kMessageIdSize), conversation->group_id, recipients,
                      tls::encode(proposal->message), env_.now_ms()};
    random(entry.message_id);
    batch.put_outbox.push_back(std::move(entry));
  }
  conversation->membership = Membership::left;
  conversation->group_state = serialize_group(*group);
  batch.put_conversations.push_back(*conversation);
  if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
  observer_.on_conversation(*conversation);
  done(success());
  if (state_ != ConnectionState::ready) return;  // the outbox sends them on the next connection
  for (auto& entry : batch.put_outbox) send_outbox_entry(std::move(entry));
}

void Engine::rename_group(BytesView group_id, std::string name, Done done) {
  auto conversation = member_of_group(store_, group_id);
  if (!conversation) return done(std::move(conversation).error());
  if (auto checked = check_group_name(name); !checked) {
    return done(Error(Errc::invalid_argument, checked.error().message()));
  }
  conversation->name = std::move(name);
  ClientStoreBatch batch;
  batch.put_conversations.push_back(*conversation);
  if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
  observer_.on_conversation(*conversation);
  send_group_metadata(conversation->group_id);
  done(success());
}

void Engine::commit_pending_proposals() {
  if (state_ != ConnectionState::ready) return;
  auto groups = std::move(pending_proposals_);
  pending_proposals_.clear();
  for (const auto& group_id : groups) {
    auto change = std::make_shared<GroupChange>();
    change->group_id = group_id;
    commit_change(change, [this](Result<void> r) {
      if (!r) observer_.on_error(std::move(r).error().with_context("committing a member's leave"));
    });
  }
}

// ---- sending ---------------------------------------------------------------------------

namespace {

// What history keeps of a message's content: a text's body, or a file and its caption.
void shown_content(const AppContent& content, StoredMessage& stored) {
  if (const auto* text = std::get_if<TextContent>(&content)) {
    stored.body = text->body;
    stored.reply_to = text->reply_to;
  } else if (const auto* file = std::get_if<FileContent>(&content)) {
    stored.body = file->caption.value_or(std::string());
    stored.file = *file;
  }
}

}  // namespace

void Engine::send_text(BytesView group_id, std::string text, Then<Bytes> done) {
  send_content(group_id, TextContent{std::move(text), std::nullopt}, std::move(done));
}

void Engine::send_reply(BytesView group_id, BytesView reply_to, std::string text,
                        Then<Bytes> done) {
  auto found = store_.has_message(group_id, reply_to);
  if (!found) return done(std::move(found).error());
  if (!*found) return done(Error(Errc::not_found, "no such message to reply to"));
  send_content(group_id, TextContent{std::move(text), Bytes(reply_to.begin(), reply_to.end())},
               std::move(done));
}

void Engine::send_file(BytesView group_id, FileContent file, Then<Bytes> done) {
  send_content(group_id, std::move(file), std::move(done));
}

namespace {

// A Done for operations that send a message whose id the caller does not need.
Engine::Then<Bytes> ignoring_id(Engine::Done done) {
  return [done = std::move(done)](Result<Bytes> sent) {
    if (!sent) return done(std::move(sent).error());
    done(success());
  };
}

}  // namespace

void Engine::edit_message(BytesView group_id, BytesView message_id, std::string text, Done done) {
  auto target = own_message(group_id, message_id);
  if (!target) return done(std::move(target).error());
  target->body = text;
  EditContent edit{target->message_id, std::move(text)};
  send_content(group_id, std::move(edit), ignoring_id(std::move(done)),
               {std::move(target).value()});
}

void Engine::delete_messages(BytesView group_id, std::vector<Bytes> message_ids, Done done) {
  if (message_ids.empty() || message_ids.size() > kMaxListedMessages) {
    return done(Error(Errc::invalid_argument, "no message, or too many, to delete"));
  }
  std::vector<StoredMessage> wiped;
  for (const auto& id : message_ids) {
    auto target = own_message(group_id, id);
    if (!target) return done(std::move(target).error());
    target->body.clear();
    target->file.reset();
    target->deleted = true;
    wiped.push_back(std::move(target).value());
  }
  send_content(group_id, DeleteContent{std::move(message_ids)}, ignoring_id(std::move(done)),
               std::move(wiped));
}

void Engine::set_disappearing_timer(BytesView group_id, uint64_t seconds, Done done) {
  if (seconds > kMaxDisappearAfterS) {
    return done(Error(Errc::invalid_argument, "a disappearing timer of at most a year"));
  }
  send_content(group_id, ConversationSettingsContent{seconds}, ignoring_id(std::move(done)));
}

void Engine::mark_read(BytesView group_id, Done done) {
  auto identity = require_identity();
  if (!identity) return done(std::move(identity).error());
  auto messages = store_.messages(group_id);
  if (!messages) return done(std::move(messages).error());
  std::vector<StoredMessage> unread;
  for (auto& m : *messages) {
    if (m.sender == identity->username || m.read || m.deleted || m.timer_set_s) continue;
    m.read = true;
    unread.push_back(std::move(m));
  }
  if (unread.empty()) return done(success());
  // A conversation this device has left keeps its history, and reading it tells no one.
  auto conversation = store_.conversation(group_id);
  if (!conversation) return done(std::move(conversation).error());
  const bool member = *conversation && (*conversation)->membership == Membership::member;
  if (!config_.send_read_receipts || !member) {
    ClientStoreBatch batch;
    batch.put_messages = unread;
    if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
    for (const auto& m : unread) observer_.on_message_changed(m);
    return done(success());
  }
  // One receipt per kMaxListedMessages, each stored with the marks it carries.
  for (size_t first = 0; first < unread.size(); first += kMaxListedMessages) {
    const size_t last = std::min(unread.size(), first + kMaxListedMessages);
    std::vector<StoredMessage> part(unread.begin() + static_cast<std::ptrdiff_t>(first),
                                    unread.begin() + static_cast<std::ptrdiff_t>(last));
    ReceiptContent receipt{ReceiptKind::read, {}};
    for (const auto& m : part) receipt.message_ids.push_back(m.message_id);
    std::optional<Result<Bytes>> sent;
    send_content(
        group_id, std::move(receipt), [&sent](Result<Bytes> r) { sent = std::move(r); },
        std::move(part));
    if (sent && !*sent) return done(std::move(*sent).error());
  }
  done(success());
}

void Engine::send_delivery_receipts() {
  auto pending = std::move(to_confirm_);
  to_confirm_.clear();
  for (auto& [group_id, ids] : pending) {
    for (size_t first = 0; first < ids.size(); first += kMaxListedMessages) {
      const size_t last = std::min(ids.size(), first + kMaxListedMessages);
      ReceiptContent receipt{ReceiptKind::delivered,
                             {ids.begin() + static_cast<std::ptrdiff_t>(first),
                              ids.begin() + static_cast<std::ptrdiff_t>(last)}};
      send_content(group_id, std::move(receipt), [this](Result<Bytes> sent) {
        if (!sent) {
          observer_.on_error(std::move(sent).error().with_context("sending a delivery receipt"));
        }
      });
    }
  }
}

Result<size_t> Engine::expire_messages() {
  const uint64_t now = env_.now_ms();
  SOTTO_TRY_ASSIGN(auto conversations, store_.conversations());
  ClientStoreBatch batch;
  std::vector<StoredMessage> expired;
  for (const auto& c : conversations) {
    SOTTO_TRY_ASSIGN(auto messages, store_.messages(c.group_id));
    for (auto& m : messages) {
      if (m.expires_at == 0 || m.expires_at > now) continue;
      batch.remove_messages.push_back(MessageKey{m.group_id, m.message_id});
      expired.push_back(std::move(m));
    }
  }
  if (expired.empty()) return size_t{0};
  SOTTO_TRY(store_.apply(batch));
  for (const auto& m : expired) observer_.on_message_expired(m);
  return expired.size();
}

void Engine::send_content(BytesView group_id, AppContent content, Then<Bytes> done,
                          std::vector<StoredMessage> rewritten) {
  auto identity = require_identity();
  if (!identity) return done(std::move(identity).error());
  auto found = store_.conversation(group_id);
  if (!found) return done(std::move(found).error());
  if (!*found) return done(Error(Errc::not_found, "no such conversation"));
  Conversation conversation = std::move(**found);
  if (conversation.membership != Membership::member) {
    return done(Error(Errc::not_found, "this device is no longer in the conversation"));
  }
  auto group = mls::Group::deserialize(conversation.group_state);
  if (!group) return done(std::move(group).error().with_context("the conversation's state"));
  auto members = group_members(*group);
  if (!members) return done(std::move(members).error());
  std::vector<Bytes> recipients = other_devices(*members, identity->device_id);
  if (recipients.empty())
    return done(Error(Errc::invalid_argument, "no one else is in the conversation"));

  // Our key-directory head goes ahead of what the user sends, when it is due here.
  std::optional<OutboxEntry> head;
  if (!std::holds_alternative<ReceiptContent>(content)) {
    head = head_for(conversation, *group, recipients);
  }
  AppMessage app;
  app.message_id = Bytes(kMessageIdSize);
  random(app.message_id);
  app.sent_at = env_.now_ms();
  app.content = std::move(content);
  auto sealed = protect_for_outbox(*group, app, std::move(recipients));
  if (!sealed) return done(std::move(sealed).error());
  OutboxEntry entry = std::move(sealed).value();

  // Texts, files and timer changes are history; edits, deletes and receipts change it.
  std::optional<StoredMessage> stored;
  const bool is_text = std::holds_alternative<TextContent>(app.content) ||
                       std::holds_alternative<FileContent>(app.content);
  const auto* settings = std::get_if<ConversationSettingsContent>(&app.content);
  if (is_text || settings != nullptr) {
    stored.emplace();
    stored->group_id = conversation.group_id;
    stored->message_id = app.message_id;
    stored->sender = identity->username;
    stored->sender_device = identity->device_id;
    stored->outgoing = true;
    stored->sent_at = app.sent_at;
    stored->state = DeliveryState::pending;
    if (settings != nullptr) {
      stored->timer_set_s = settings->disappear_after_s;
      conversation.disappear_after_s = settings->disappear_after_s;
    } else {
      shown_content(app.content, *stored);
      if (conversation.disappear_after_s != 0) {
        stored->expires_at = app.sent_at + conversation.disappear_after_s * 1000;
      }
    }
  }
  if (std::holds_alternative<EditContent>(app.content)) {
    for (auto& m : rewritten) m.edited_at = app.sent_at;
  }

  conversation.group_state = serialize_group(*group);
  ClientStoreBatch batch;
  batch.put_conversations.push_back(conversation);
  if (stored) batch.put_messages.push_back(*stored);
  batch.put_messages.insert(batch.put_messages.end(), rewritten.begin(), rewritten.end());
  if (head) batch.put_outbox.push_back(*head);
  batch.put_outbox.push_back(entry);
  if (auto applied = store_.apply(batch); !applied) return done(std::move(applied).error());
  if (settings != nullptr) observer_.on_conversation(conversation);
  if (stored) observer_.on_message(*stored);
  for (const auto& m : rewritten) observer_.on_message_changed(m);
  done(app.message_id);
  if (state_ != ConnectionState::ready) return;
  if (head) send_outbox_entry(std::move(*head));
  send_outbox_entry(std::move(entry));
}

namespace {

// How often a conversation hears our key-directory head: a new head at most hourly, the same
// one again daily (docs/key-transparency.md, "Heads inside conversations").
constexpr uint64_t kNewHeadEveryMs = 3600ull * 1000;
constexpr uint64_t kSameHeadEveryMs = 24ull * 3600 * 1000;

}  // namespace

std::optional<OutboxEntry> Engine::head_for(Conversation& conversation, mls::Group& group,
                                            const std::vector<Bytes>& recipients) {
  auto state = store_.directory_state();
  if (!state) return std::nullopt;
  auto verifier = DirectoryVerifier::restore(*state);
  if (!verifier) return std::nullopt;
  auto gossip = verifier->gossip();
  if (!gossip) return std::nullopt;  // no head held yet
  const uint64_t now = env_.now_ms();
  const uint64_t size = verifier->known_log_size();
  const uint64_t since = now - std::min(now, conversation.head_sent_at);
  const bool due = conversation.head_sent_at == 0 ||
                   (size != conversation.head_sent_size && since >= kNewHeadEveryMs) ||
                   since >= kSameHeadEveryMs;
  if (!due) return std::nullopt;
  AppMessage app;
  app.message_id = Bytes(kMessageIdSize);
  random(app.message_id);
  app.sent_at = now;
  app.content = DirectoryHeadContent{std::move(gossip).value()};
  auto entry = protect_for_outbox(group, app, recipients);
  if (!entry) {
    observer_.on_error(std::move(entry).error().with_context("sending our directory head"));
    return std::nullopt;
  }
  conversation.head_sent_size = size;
  conversation.head_sent_at = now;
  return std::move(entry).value();
}

void Engine::resend_outbox() {
  auto outbox = store_.outbox();
  if (!outbox) {
    observer_.on_error(std::move(outbox).error().with_context("reading the outbox"));
    return;
  }
  for (auto& entry : *outbox) {
    if (sending_.count(entry.message_id) != 0) continue;  // in flight already
    // Written before a commit that this device has read since: protected again first.
    if (auto fresh = reprotect_if_stale(entry); !fresh) {
      if (fresh.error().code() == Errc::unavailable) {  // the store: kept for the next try
        observer_.on_error(std::move(fresh).error());
        continue;
      }
      settle_outbox_entry(entry, std::move(fresh).error(), [](Result<void>) {});
      continue;
    }
    send_outbox_entry(std::move(entry));
  }
}

void Engine::send_outbox_entry(OutboxEntry entry, Done then) {
  if (!then) then = [](Result<void>) {};
  if (sending_.count(entry.message_id) != 0) {  // already in flight
    return then(Error(Errc::unavailable, "already being sent"));
  }
  sending_.insert(entry.message_id);
  proto::Send send{entry.message_id, entry.recipients, std::nullopt, entry.payload};
  request(std::move(send), [this, entry, then](Result<proto::ResponseBody> r) {
    sending_.erase(entry.message_id);
    settle_outbox_entry(entry, expect<proto::SentResponse>(std::move(r), "send"), then);
  });
}

Result<bool> Engine::reprotect_if_stale(OutboxEntry& entry) {
  if (entry.content.empty()) return false;  // a handshake message belongs to its epoch
  SOTTO_TRY_ASSIGN(auto found, store_.conversation(entry.group_id));
  if (!found || found->membership != Membership::member) {
    return Error(Errc::not_found, "this device is no longer in the conversation");
  }
  Conversation conversation = std::move(*found);
  SOTTO_TRY_ASSIGN(auto group, mls::Group::deserialize(conversation.group_state));
  if (group.epoch() == entry.epoch) return false;
  SOTTO_TRY_ASSIGN(auto identity, require_identity());
  SOTTO_TRY_ASSIGN(auto members, group_members(group));
  std::vector<Bytes> recipients = other_devices(members, identity.device_id);
  if (recipients.empty()) return Error(Errc::not_found, "no one else is in the conversation");
  auto sealed = group.protect(entry.content.view(), rng());
  if (!sealed) return std::move(sealed).error().with_context("protecting the message again");
  entry.payload = tls::encode(*sealed);
  entry.recipients = std::move(recipients);
  entry.epoch = group.epoch();
  conversation.group_state = serialize_group(group);
  ClientStoreBatch batch;
  batch.put_conversations.push_back(std::move(conversation));
  batch.put_outbox.push_back(entry);
  SOTTO_TRY(store_.apply(batch));
  return true;
}

void Engine::settle_outbox_entry(const OutboxEntry& entry, Result<proto::SentResponse> sent,
                                 Done then) {
  ClientStoreBatch batch;
  DeliveryUpdate update{entry.group_id, entry.message_id, DeliveryState::sent, 0};
  if (sent) {
    update.accepted_at = sent->accepted_at;
  } else if (is_permanent_send_error(sent.error().code())) {
    update.state = DeliveryState::failed;
    observer_.on_error(sent.error());
  } else {
    // Kept in the outbox: resent once the connection is ready again.
    if (sent.error().code() != Errc::unavailable) observer_.on_error(sent.error());
    return then(std::move(sent).error());
  }
  batch.remove_outbox.push_back(entry.message_id);
  // Welcomes, proposals, heads and group metadata wait in the outbox too, but are no history.
  auto in_history = store_.has_message(entry.group_id, entry.message_id);
  if (!in_history) return then(std::move(in_history).error());
  if (*in_history) batch.delivery_updates.push_back(update);
  if (auto stored = store_.apply(batch); !stored) {
    Error error = std::move(stored).error();
    observer_.on_error(Error(error).with_context("recording a delivery"));
    return then(std::move(error));
  }
  if (*in_history) observer_.on_delivery_state(entry.group_id, entry.message_id, update.state);
  if (sent) return then(success());
  then(std::move(sent).error());
}

// ---- receiving -------------------------------------------------------------------------

void Engine::fetch(Done done) {
  if (state_ != ConnectionState::ready) {
    return done(Error(Errc::unavailable, "not connected and authenticated"));
  }
  if (fetching_) {
    refetch_ = true;
    return done(success());
  }
  fetch_from(0, std::move(done));
}

void Engine::fetch_from(uint64_t after_seq, Done done) {
  fetching_ = true;
  request(proto::Fetch{after_seq, config_.fetch_limit},
          [this, done](Result<proto::ResponseBody> r) {
            auto page = expect<proto::MessagesResponse>(std::move(r), "fetch");
            if (!page) {
              fetching_ = false;
              return done(std::move(page).error());
            }
            std::vector<uint64_t> acks;
            for (const auto& m : page->messages) process_queued(m, acks);
            ack(std::move(acks));
            if (page->more && !page->messages.empty())
              return fetch_from(page->messages.back().seq, done);
            if (refetch_) {
              refetch_ = false;
              return fetch_from(page->messages.empty() ? 0 : page->messages.back().seq, done);
            }
            fetching_ = false;
            if (auto expired = expire_messages(); !expired) {
              observer_.on_error(std::move(expired).error().with_context("expiring messages"));
            }
            // Before any commit of ours: receipts in the epoch their readers are in.
            send_delivery_receipts();
            done(success());
            commit_pending_proposals();
          });
}

void Engine::process_queued(const proto::QueuedMessage& message, std::vector<uint64_t>& acks) {
  auto processed = store_.is_processed(message.seq);
  if (!processed) {
    observer_.on_error(std::move(processed).error());
    return;
  }
  if (*processed) {  // stored before, its ack lost: ack again
    acks.push_back(message.seq);
    return;
  }
  auto opened = open_message(message);
  if (!opened) {
    if (opened.error().code() == Errc::unavailable) {  // the store: try again later
      observer_.on_error(std::move(opened).error());
      return;
    }
    // A message that cannot be opened never will be: record it as handled, so that it is
    // acknowledged and does not block the queue, and say so.
    observer_.on_error(std::move(opened).error().with_context(
        "a queued message (seq " + std::to_string(message.seq) + ") was dropped"));
    ClientStoreBatch drop;
    drop.add_processed.push_back(message.seq);
    if (store_.apply(drop)) acks.push_back(message.seq);
    return;
  }
  opened->batch.add_processed.push_back(message.seq);
  if (auto stored = store_.apply(opened->batch); !stored) {
    observer_.on_error(std::move(stored).error().with_context("storing a received message"));
    return;  // not acknowledged: it comes again
  }
  acks.push_back(message.seq);
  if (opened->joined) {
    observer_.on_conversation(*opened->joined);
    if (opened->verify) verify_members(opened->joined->group_id);
  }
  for (const auto& m : opened->messages) observer_.on_message(m);
  for (const auto& m : opened->changed) observer_.on_message_changed(m);
  if (opened->to_confirm) {
    to_confirm_[opened->to_confirm->group_id].push_back(opened->to_confirm->message_id);
  }
  if (opened->head) {
    queue_directory_task([this, head = std::move(*opened->head)](Done finished) {
      compare_head(head.first, head.second, std::move(finished));
    });
  }
}

Result<Engine::Opened> Engine::open_message(const proto::QueuedMessage& queued) {
  SOTTO_TRY_ASSIGN(auto identity, require_identity());
  SOTTO_TRY_ASSIGN(auto message, tls::decode<mls::MlsMessage>(queued.payload));
  if (std::holds_alternative<mls::Welcome>(message.content)) {
    return join(message, identity);
  }
  Bytes group_id;
  bool application = false;
  if (const auto* pub = std::get_if<mls::PublicMessage>(&message.content)) {
    group_id = pub->content.group_id;
    application = std::holds_alternative<mls::ApplicationData>(pub->content.content);
  } else if (const auto* priv = std::get_if<mls::PrivateMessage>(&message.content)) {
    group_id = priv->group_id;
    application = priv->content_type == mls::ContentType::application;
  } else {
    return Error(Errc::invalid_value, "a queued message that is no MLS group message");
  }
  SOTTO_TRY_ASSIGN(auto found, store_.conversation(group_id));
  if (!found) return Error(Errc::not_found, "a message for a group we are not in");
  Conversation conversation = std::move(*found);
  Opened out;
  // A group left or removed from reads nothing more (and keeps its history as it was).
  if (conversation.membership != Membership::member) return out;
  SOTTO_TRY_ASSIGN(auto group, mls::Group::deserialize(conversation.group_state));

  if (!application) {
    auto next = group.process(message);
    if (!next) {
      // The commit that removes us: lib/mls refuses to go on to an epoch without our leaf,
      // after checking the committer's signature and membership tag.
      if (next.error().code() == Errc::not_found && removes_leaf(message, group.own_leaf())) {
        conversation.membership = Membership::removed;
        out.batch.put_conversations.push_back(conversation);
        out.joined = std::move(conversation);
        return out;
      }
      return std::move(next).error();
    }
    SOTTO_TRY_ASSIGN(auto members, group_members(*next));
    if (next->epoch() != group.epoch()) keep_previous_epoch(conversation, queued.received_at);
    conversation.group_state = serialize_group(*next);
    const auto* pub = std::get_if<mls::PublicMessage>(&message.content);
    if (pub != nullptr && std::holds_alternative<mls::Proposal>(pub->content.content)) {
      // A proposal is cached for the next commit. A Remove of our leaf comes from a device
      // of this account that leaves the group (so we leave too), or from another member who
      // may remove us (so we are out once anyone commits it: the commit may name it by
      // reference, which removes_leaf cannot see). Any other proposal is committed once the
      // queue is read (commit_pending_proposals).
      if (removes_leaf(message, group.own_leaf())) {
        const auto* by = std::get_if<mls::MemberSender>(&pub->content.sender.content);
        auto sender = std::find_if(members.begin(), members.end(), [&](const Member& m) {
          return by != nullptr && m.leaf == by->leaf_index;
        });
        const bool ours = sender != members.end() && sender->identity.username == identity.username;
        conversation.membership = ours ? Membership::left : Membership::removed;
        out.joined = conversation;
      } else {
        pending_proposals_.insert(group_id);
      }
      out.batch.put_conversations.push_back(std::move(conversation));
      return out;
    }
    conversation.members = member_names(members);
    // New members' keys are checked again before the conversation counts as verified.
    conversation.members_verified = false;
    out.batch.put_conversations.push_back(conversation);
    out.joined = std::move(conversation);
    out.verify = true;
    return out;
  }

  // The epoch before the last commit is kept for a while (keep_previous_epoch); once the
  // server takes messages later than that, it goes, with the keys it still held.
  std::optional<mls::Group> previous;
  if (!conversation.previous_group_state.empty()) {
    if (queued.received_at > conversation.previous_epoch_until) {
      conversation.previous_group_state = SecureBytes();
      conversation.previous_epoch_until = 0;
    } else if (epoch_of(message) + 1 == group.epoch()) {
      SOTTO_TRY_ASSIGN(previous, mls::Group::deserialize(conversation.previous_group_state));
    }
  }
  mls::Group& epoch_group = previous ? *previous : group;
  SOTTO_TRY_ASSIGN(auto opened, epoch_group.unprotect(message));
  SOTTO_TRY_ASSIGN(auto members, group_members(epoch_group));
  auto sender = std::find_if(members.begin(), members.end(),
                             [&](const Member& m) { return m.leaf == opened.sender; });
  if (sender == members.end()) return Error(Errc::invalid_value, "a sender outside the group");
  auto app = decode_app_message(opened.data);
  secure_wipe(opened.data.data(), opened.data.size());
  if (previous) {
    conversation.previous_group_state = serialize_group(*previous);
  } else {
    conversation.group_state = serialize_group(group);
  }
  out.batch.put_conversations.push_back(conversation);
  // The ratchet moved on whatever the content: store the new state even when the content
  // itself is refused, so that the key is never used twice.
  if (!app) {
    observer_.on_error(std::move(app).error().with_context("a message's content was dropped"));
    return out;
  }
  if (auto* metadata = std::get_if<GroupMetadataContent>(&app->content)) {
    // Any member may (re)name the group; the name is checked by decode_app_message.
    conversation.kind = ConversationKind::group;
    conversation.name = std::move(metadata->name);
    out.batch.put_conversations.back() = conversation;
    out.joined = std::move(conversation);
    return out;
  }
  const std::string& from = sender->identity.username;
  // A refused edit, delete or receipt changes nothing but the ratchet; its sender may be
  // misbehaving, or its target not here (yet): docs/messages.md.
  auto refused = [&](Result<void> applied, const char* what) {
    if (!applied) observer_.on_error(std::move(applied).error().with_context(what));
  };
  if (const auto* edit = std::get_if<EditContent>(&app->content)) {
    refused(apply_edit(group_id, from, *app, *edit, out), "an edit was dropped");
    return out;
  }
  if (const auto* deletion = std::get_if<DeleteContent>(&app->content)) {
    refused(apply_delete(group_id, from, *deletion, out), "a delete was dropped");
    return out;
  }
  if (const auto* receipt = std::get_if<ReceiptContent>(&app->content)) {
    refused(apply_receipt(group_id, from, identity.username, *receipt, out),
            "a receipt was dropped");
    return out;
  }
  if (auto* head = std::get_if<DirectoryHeadContent>(&app->content)) {
    out.head = std::pair{from, std::move(head->gossip)};  // compared once this is stored
    return out;
  }
  SOTTO_TRY_ASSIGN(const bool seen, store_.has_message(group_id, app->message_id));
  if (seen) return out;
  StoredMessage stored;
  stored.group_id = group_id;
  stored.message_id = app->message_id;
  stored.sender = from;
  stored.sender_device = sender->identity.device_id;
  // Sent by another device of this account: ours, and the server had it for everyone.
  stored.outgoing = from == identity.username;
  stored.sent_at = app->sent_at;
  stored.accepted_at = queued.received_at;
  stored.state = stored.outgoing ? DeliveryState::sent : DeliveryState::received;
  if (const auto* settings = std::get_if<ConversationSettingsContent>(&app->content)) {
    conversation.disappear_after_s = settings->disappear_after_s;
    stored.timer_set_s = settings->disappear_after_s;
    out.batch.put_conversations.back() = conversation;
    out.joined = std::move(conversation);
  } else {
    shown_content(app->content, stored);
    if (conversation.disappear_after_s != 0) {
      stored.expires_at = env_.now_ms() + conversation.disappear_after_s * 1000;
    }
    // Our own other devices' messages need no receipt.
    if (from != identity.username) out.to_confirm = MessageKey{group_id, app->message_id};
  }
  out.batch.put_messages.push_back(stored);
  out.messages.push_back(std::move(stored));
  return out;
}

Result<StoredMessage> Engine::own_message(BytesView group_id, BytesView message_id) {
  SOTTO_TRY_ASSIGN(auto identity, require_identity());
  SOTTO_TRY_ASSIGN(auto found, store_.message(group_id, message_id));
  if (!found) return Error(Errc::not_found, "no such message in the conversation");
  if (found->sender != identity.username) {
    return Error(Errc::forbidden, "only the account that sent a message may change it");
  }
  if (found->deleted || found->timer_set_s) {
    return Error(Errc::invalid_argument, "a deleted message or a system line cannot change");
  }
  return std::move(*found);
}

Result<void> Engine::apply_edit(BytesView group_id, const std::string& sender,
                                const AppMessage& app, const EditContent& edit, Opened& out) {
  SOTTO_TRY_ASSIGN(auto found, store_.message(group_id, edit.message_id));
  // Out of order (or expired here already): the edit has nothing to apply to.
  if (!found) return Error(Errc::not_found, "an edit of a message not stored");
  if (found->sender != sender) {
    return Error(Errc::forbidden, sender + " tried to edit another account's message");
  }
  if (found->deleted || found->timer_set_s) {
    return Error(Errc::invalid_value, "an edit of a deleted message or a system line");
  }
  found->body = edit.body;
  found->edited_at = app.sent_at;
  out.batch.put_messages.push_back(*found);
  out.changed.push_back(std::move(*found));
  return success();
}

Result<void> Engine::apply_delete(BytesView group_id, const std::string& sender,
                                  const DeleteContent& deletion, Opened& out) {
  std::vector<StoredMessage> wiped;
  for (const auto& id : deletion.message_ids) {
    SOTTO_TRY_ASSIGN(auto found, store_.message(group_id, id));
    if (!found) return Error(Errc::not_found, "a delete of a message not stored");
    if (found->sender != sender) {
      return Error(Errc::forbidden, sender + " tried to delete another account's message");
    }
    if (found->timer_set_s) return Error(Errc::invalid_value, "a delete of a system line");
    found->body.clear();
    found->file.reset();
    found->deleted = true;
    wiped.push_back(std::move(*found));
  }
  for (auto& m : wiped) {
    out.batch.put_messages.push_back(m);
    out.changed.push_back(std::move(m));
  }
  return success();
}

namespace {

void add_name(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

}  // namespace

Result<void> Engine::apply_receipt(BytesView group_id, const std::string& sender,
                                   const std::string& own, const ReceiptContent& receipt,
                                   Opened& out) {
  for (const auto& id : receipt.message_ids) {
    SOTTO_TRY_ASSIGN(auto found, store_.message(group_id, id));
    // Receipts for messages gone here (expired, or never seen) are no error.
    if (!found || found->deleted) continue;
    if (sender == own) {
      // Another device of ours has read it: so has this account.
      if (receipt.kind != ReceiptKind::read || found->sender == own || found->read) continue;
      found->read = true;
    } else {
      if (found->sender != own) continue;  // receipts are for a message's sender only
      add_name(found->delivered_to, sender);
      if (receipt.kind == ReceiptKind::read) add_name(found->read_by, sender);
    }
    out.batch.put_messages.push_back(*found);
    out.changed.push_back(std::move(*found));
  }
  return success();
}

Result<Engine::Opened> Engine::join(const mls::MlsMessage& message, const Identity& identity) {
  const auto& welcome = std::get<mls::Welcome>(message.content);
  std::optional<StoredKeyPackage> stored;
  for (const auto& secrets : welcome.secrets) {
    SOTTO_TRY_ASSIGN(stored, store_.key_package(secrets.new_member));
    if (stored) break;
  }
  if (!stored) return Error(Errc::not_found, "a Welcome for none of our KeyPackages");
  SOTTO_TRY_ASSIGN(auto key_package, tls::decode<mls::KeyPackage>(stored->key_package));
  SOTTO_TRY_ASSIGN(auto secrets, tls::decode<KeyPackageSecrets>(stored->private_keys));
  mls::KeyPackagePrivateKeys keys{std::move(secrets.init_private_key),
                                  std::move(secrets.encryption_private_key),
                                  std::move(secrets.signature_private_key)};
  SOTTO_TRY_ASSIGN(auto group, mls::Group::join(message, key_package, keys));
  SOTTO_TRY_ASSIGN(auto existing, store_.conversation(group.group_id()));
  if (existing && existing->membership == Membership::member) {
    return Error(Errc::invalid_value, "a Welcome to a group we are already in");
  }
  SOTTO_TRY_ASSIGN(auto members, group_members(group));

  Conversation conversation;
  conversation.group_id = group.group_id();
  conversation.members = member_names(members);
  for (const auto& name : conversation.members) {
    if (name == identity.username) continue;
    if (!conversation.name.empty()) conversation.name += ", ";
    conversation.name += name;
  }
  conversation.group_state = serialize_group(group);
  conversation.members_verified = false;

  if (existing) {  // added again to a group we had left: the name stays until it is sent
    conversation.kind = existing->kind;
    conversation.name = existing->name;
  }

  Opened out;
  out.batch.put_conversations.push_back(conversation);
  if (!stored->last_resort) out.batch.remove_key_packages.push_back(stored->ref);
  out.joined = std::move(conversation);
  out.verify = true;
  return out;
}

void Engine::verify_members(Bytes group_id) {
  auto found = store_.conversation(group_id);
  if (!found || !*found) return;
  auto group = mls::Group::deserialize((*found)->group_state);
  if (!group) return;
  auto members = group_members(*group);
  if (!members) {
    observer_.on_error(std::move(members).error());
    return;
  }
  verify_next_member(std::move(group_id), member_names(*members), 0);
}

// One lookup at a time: each proof is checked against the head the one before it moved to,
// and two answers in flight would each link only to the head known when they were asked.
void Engine::verify_next_member(Bytes group_id, std::vector<std::string> names, size_t index) {
  if (index == names.size()) {
    auto now = store_.conversation(group_id);
    if (!now || !*now) return;
    Conversation conversation = std::move(**now);
    conversation.members_verified = true;
    ClientStoreBatch batch;
    batch.put_conversations.push_back(conversation);
    if (auto stored = store_.apply(batch); !stored) {
      observer_.on_error(std::move(stored).error());
      return;
    }
    observer_.on_conversation(conversation);
    return;
  }
  const std::string name = names[index];
  lookup_contact(name, [this, group_id, names, index](Result<Contact> contact) {
    if (!contact) {
      observer_.on_error(
          std::move(contact).error().with_context("checking member " + names[index]));
      return;
    }
    if (auto checked = check_member_keys(group_id, *contact); !checked) {
      observer_.on_error(std::move(checked).error());
      return;
    }
    verify_next_member(group_id, names, index + 1);
  });
}

Result<void> Engine::check_member_keys(BytesView group_id, const Contact& contact) {
  SOTTO_TRY_ASSIGN(auto found, store_.conversation(group_id));
  if (!found) return Error(Errc::not_found, "the conversation is gone");
  SOTTO_TRY_ASSIGN(auto group, mls::Group::deserialize(found->group_state));
  SOTTO_TRY_ASSIGN(auto members, group_members(group));
  for (const auto& m : members) {
    if (m.identity.username != contact.username) continue;
    const bool known =
        std::any_of(contact.devices.begin(), contact.devices.end(), [&](const ContactDevice& d) {
          return d.device_id == m.identity.device_id && d.signature_key == m.signature_key;
        });
    if (!known) {
      return Error(Errc::bad_proof, "a member of " + found->name +
                                        " has a key the key directory"
                                        " does not hold for " +
                                        contact.username);
    }
  }
  return success();
}

void Engine::ack(std::vector<uint64_t> seqs) {
  if (seqs.empty()) return;
  request(proto::Ack{seqs}, [this, seqs](Result<proto::ResponseBody> r) {
    auto acked = expect<proto::EmptyResponse>(std::move(r), "ack");
    if (!acked) return;  // acknowledged again when the messages come back
    // The server deleted them and never reuses a seq: the marks are no longer needed.
    ClientStoreBatch batch;
    batch.remove_processed = seqs;
    if (auto stored = store_.apply(batch); !stored) observer_.on_error(std::move(stored).error());
  });
}

// ---- devices ---------------------------------------------------------------------------

void Engine::link_device_offer(Then<LinkSlot> done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  LinkCode code;
  code.secret = SecureBytes(kLinkSecretSize);
  random({code.secret.data(), code.secret.size()});
  // The server picks the slot id, so the keys come from the secret alone; the slot id is
  // bound into every MAC and sealed message instead.
  auto keys = derive_link_keys(code.secret);
  if (!keys) return done(std::move(keys).error());
  const Bytes verifier = keys->verifier.reveal();
  request(proto::OpenLink{verifier}, [this, code = std::move(code), keys = std::move(keys).value(),
                                      done](Result<proto::ResponseBody> r) mutable {
    auto opened = expect<proto::LinkSlotResponse>(std::move(r), "open_link");
    if (!opened) return done(std::move(opened).error());
    if (opened->slot_id.size() != proto::kLinkSlotIdSize) {
      return done(Error(Errc::invalid_value, "a link slot id of the wrong size"));
    }
    code.slot_id = opened->slot_id;
    LinkSlot slot{format_link_code(code), opened->expires_at};
    offering_ = LinkOffering{std::move(code), std::move(keys), std::nullopt};
    done(std::move(slot));
  });
}

void Engine::link_device_poll(Then<std::optional<LinkedDevice>> done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  if (!offering_) return done(Error(Errc::not_found, "no device link in progress"));
  if (offering_->added) {
    const LinkedDevice added = *offering_->added;
    return add_own_device_to_conversations(added.device_id, [this, added, done](Result<void> r) {
      // The new device has not uploaded its KeyPackages yet: ask again later.
      if (!r && r.error().code() == Errc::not_found) return done(std::optional<LinkedDevice>());
      if (!r) return done(std::move(r).error());
      offering_.reset();
      done(std::optional<LinkedDevice>(added));
    });
  }
  const Bytes slot_id = offering_->code.slot_id;
  request(proto::ReadLinkPost{slot_id}, [this, slot_id, identity = *identity,
                                         done](Result<proto::ResponseBody> r) {
    auto post = expect<proto::LinkSealedResponse>(std::move(r), "read_link_post");
    if (!post) return done(std::move(post).error());
    if (!post->sealed) return done(std::optional<LinkedDevice>());
    if (!offering_ || offering_->code.slot_id != slot_id) {
      return done(Error(Errc::not_found, "the device link was given up"));
    }
    auto opened = open_link_message(offering_->keys.post_key, slot_id, *post->sealed);
    if (!opened) {
      offering_.reset();
      return done(Error(Errc::authentication_failed,
                        "the new device's message was not sealed under the link code"));
    }
    auto offer = tls::decode<LinkOffer>(*opened);
    if (!offer || offer->signature_key.size() != crypto::kEd25519PublicKeySize) {
      offering_.reset();
      return done(Error(Errc::invalid_value, "the new device sent a malformed key"));
    }
    const std::string name = offer->name;
    request(proto::AddDevice{proto::DeviceKey{offer->signature_key, offer->name}},
            [this, slot_id, name, identity, done](Result<proto::ResponseBody> added) {
              auto device = expect<proto::DeviceAddedResponse>(std::move(added), "add_device");
              if (!device) return done(std::move(device).error());
              linked_devices_.insert(device->device_id);
              if (!offering_) return done(Error(Errc::not_found, "the device link was given up"));
              LinkAnswer answer{identity.username, identity.account_id, device->device_id};
              Bytes nonce(crypto::kAeadNonceSize);
              random(nonce);
              auto sealed = seal_link_message(offering_->keys.answer_key, slot_id, nonce,
                                              tls::encode(answer));
              if (!sealed) return done(std::move(sealed).error());
              offering_->added = LinkedDevice{device->device_id, name};
              request(proto::AnswerLink{slot_id, std::move(sealed).value()},
                      [done](Result<proto::ResponseBody> answered) {
                        auto ok = expect<proto::EmptyResponse>(std::move(answered), "answer_link");
                        if (!ok) return done(std::move(ok).error());
                        // Its conversations follow once it has uploaded KeyPackages.
                        done(std::optional<LinkedDevice>());
                      });
            });
  });
}

void Engine::link_device_accept(std::string text, Done done) {
  if (has_identity())
    return done(Error(Errc::already_exists, "this device already has an account"));
  auto code = parse_link_code(text);
  if (!code) return done(std::move(code).error());
  auto keys = derive_link_keys(code->secret);
  if (!keys) return done(std::move(keys).error());
  auto device_key = new_device_key();
  if (!device_key) return done(std::move(device_key).error());
  LinkOffer offer{device_key->second.public_key(), config_.device_name};
  Bytes nonce(crypto::kAeadNonceSize);
  random(nonce);
  auto sealed = seal_link_message(keys->post_key, code->slot_id, nonce, tls::encode(offer));
  if (!sealed) return done(std::move(sealed).error());
  const Bytes mac =
      crypto::hmac_sha256(keys->verifier, proto::link_post_mac_input(code->slot_id, *sealed))
          .reveal();
  const Bytes slot_id = code->slot_id;
  joining_ = LinkJoining{std::move(code).value(), std::move(keys).value(),
                         std::move(device_key->first), offer.signature_key};
  request(proto::PostLink{slot_id, std::move(sealed).value(), mac},
          [this, done](Result<proto::ResponseBody> r) {
            auto posted = expect<proto::EmptyResponse>(std::move(r), "post_link");
            if (!posted) {
              joining_.reset();
              return done(std::move(posted).error());
            }
            done(success());
          });
}

void Engine::link_device_wait(Then<bool> done) {
  if (!joining_) return done(Error(Errc::not_found, "no device link in progress"));
  const Bytes slot_id = joining_->code.slot_id;
  const Bytes mac =
      crypto::hmac_sha256(joining_->keys.verifier, proto::link_answer_mac_input(slot_id)).reveal();
  request(
      proto::ReadLinkAnswer{slot_id, mac}, [this, slot_id, done](Result<proto::ResponseBody> r) {
        auto read = expect<proto::LinkSealedResponse>(std::move(r), "read_link_answer");
        if (!read) return done(std::move(read).error());
        if (!read->sealed) return done(false);
        if (!joining_ || joining_->code.slot_id != slot_id) {
          return done(Error(Errc::not_found, "the device link was given up"));
        }
        auto opened = open_link_message(joining_->keys.answer_key, slot_id, *read->sealed);
        if (!opened) return done(std::move(opened).error().with_context("the link answer"));
        auto answer = tls::decode<LinkAnswer>(*opened);
        if (!answer) return done(std::move(answer).error().with_context("the link answer"));
        if (answer->account_id.size() != proto::kIdSize ||
            answer->device_id.size() != proto::kIdSize || answer->username.empty()) {
          return done(Error(Errc::invalid_value, "a link answer with malformed ids"));
        }
        const std::string username = normalize_username(answer->username);
        const Bytes device_id = answer->device_id;
        const Bytes public_key = joining_->public_key;
        ClientStoreBatch batch;
        batch.identity =
            Identity{username, answer->account_id, device_id, joining_->seed, SecureBytes(), 0};
        if (auto stored = store_.apply(batch); !stored) return done(std::move(stored).error());
        joining_.reset();
        authenticate([this, username, device_id, public_key, done](Result<void> authenticated) {
          if (!authenticated) return done(std::move(authenticated).error());
          // The key directory must list this device with this key: the account's other devices
          // and its contacts will trust it only so.
          lookup_contact(username, [device_id, public_key, done](Result<Contact> own) {
            if (!own) return done(std::move(own).error().with_context("our own account"));
            const bool listed =
                std::any_of(own->devices.begin(), own->devices.end(), [&](const ContactDevice& d) {
                  return d.device_id == device_id && d.signature_key == public_key;
                });
            if (!listed) {
              return done(Error(Errc::bad_proof,
                                "the key directory does not list this device in its account"));
            }
            done(true);
          });
        });
      });
}

Result<std::vector<Bytes>> Engine::member_groups() const {
  SOTTO_TRY_ASSIGN(auto all, store_.conversations());
  std::vector<Bytes> out;
  for (const auto& c : all) {
    if (c.membership == Membership::member) out.push_back(c.group_id);
  }
  return out;
}

void Engine::add_own_device_to_conversations(Bytes device_id, Done done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  auto groups = member_groups();
  if (!groups) return done(std::move(groups).error());
  if (groups->empty()) return done(success());
  lookup_contact(identity->username,
                 [this, device_id, groups = std::move(groups).value(), done](Result<Contact> own) {
                   if (!own) return done(std::move(own).error().with_context("our own account"));
                   add_own_device(std::move(own).value(), device_id, groups, 0, done);
                 });
}

void Engine::add_own_device(Contact own, Bytes device_id, std::vector<Bytes> groups, size_t index,
                            Done done) {
  if (index == groups.size()) return done(success());
  auto next = [this, own, device_id, groups, index, done](Result<void> r) {
    if (!r) return done(std::move(r).error());
    add_own_device(own, device_id, groups, index + 1, done);
  };
  auto conversation = member_of_conversation(store_, groups[index]);
  if (!conversation) return next(success());  // left meanwhile
  auto group = mls::Group::deserialize(conversation->group_state);
  if (!group) return done(std::move(group).error());
  auto members = group_members(*group);
  if (!members) return done(std::move(members).error());
  const bool present = std::any_of(members->begin(), members->end(), [&](const Member& m) {
    return m.identity.device_id == device_id;
  });
  if (present) return next(success());
  auto identity = require_identity();
  if (!identity) return done(std::move(identity).error());
  // One claim per conversation: a KeyPackage joins one group only.
  claim_for(own, identity->device_id,
            [this, device_id, group_id = groups[index],
             next](Result<std::vector<mls::KeyPackage>> claimed) {
              if (!claimed) return next(std::move(claimed).error());
              auto change = std::make_shared<GroupChange>();
              change->group_id = group_id;
              change->any_kind = true;
              for (auto& kp : *claimed) {
                auto id = member_identity(kp.leaf_node.credential);
                if (id && id->device_id == device_id) change->adds.push_back(std::move(kp));
              }
              if (change->adds.empty()) {
                return next(Error(Errc::not_found, "the new device has no KeyPackage yet"));
              }
              commit_change(change, next);
            });
}

void Engine::list_devices(Then<std::vector<proto::DeviceInfo>> done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  request(proto::ListDevices{}, [done](Result<proto::ResponseBody> r) {
    auto devices = expect<proto::DevicesResponse>(std::move(r), "list_devices");
    if (!devices) return done(std::move(devices).error());
    done(std::move(devices->devices));
  });
}

void Engine::check_own_account(Then<Contact> done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  lookup_contact(identity->username, std::move(done));
}

void Engine::revoke_device(Bytes device_id, Done done) {
  auto identity = ready_identity();
  if (!identity) return done(std::move(identity).error());
  if (device_id == identity->device_id) {
    return done(Error(Errc::invalid_argument, "revoke this device from another one"));
  }
  request(proto::RevokeDevice{device_id}, [this, device_id, done](Result<proto::ResponseBody> r) {
    auto revoked = expect<proto::EmptyResponse>(std::move(r), "revoke_device");
    if (!revoked) return done(std::move(revoked).error());
    auto groups = member_groups();
    if (!groups) return done(std::move(groups).error());
    remove_own_device(device_id, std::move(groups).value(), 0, done);
  });
}

void Engine::remove_own_device(Bytes device_id, std::vector<Bytes> groups, size_t index,
                               Done done) {
  if (index == groups.size()) return done(success());
  auto change = std::make_shared<GroupChange>();
  change->group_id = groups[index];
  change->any_kind = true;
  change->remove_devices = {device_id};
  commit_change(change, [this, device_id, groups, index, done](Result<void> r) {
    if (!r) return done(std::move(r).error());
    remove_own_device(device_id, groups, index + 1, done);
  });
}

}  // namespace sotto::client
