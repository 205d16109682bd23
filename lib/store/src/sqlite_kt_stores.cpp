#include "sqlite_kt_stores.h"

#include <algorithm>
#include <string>
#include <vector>

#include "sotto/core/tls.h"

namespace sotto::store::sql {
namespace {

// Heads and audits are our own encodings, read back whole: the wire limit on one vector
// (meant for untrusted input) would only cap how large an epoch may grow.
constexpr tls::Limits kOwnData{tls::kMaxVarint};

Result<uint64_t> next_of_level(Connection& c, uint32_t level) {
  SOTTO_TRY_ASSIGN(Query q, c.query("SELECT COALESCE(MAX(idx) + 1, 0) FROM kt_log_nodes "
                                    "WHERE level = ?1"));
  q.bind(level);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  return row ? q.u64(0) : uint64_t{0};
}

Result<uint32_t> count_versions(Connection& c, BytesView label) {
  SOTTO_TRY_ASSIGN(Query q, c.query("SELECT COUNT(*) FROM kt_versions WHERE label = ?1"));
  q.bind(label);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  return row ? static_cast<uint32_t>(q.i64(0)) : uint32_t{0};
}

kt::VersionRecord version_from(const Query& q) {
  kt::VersionRecord v;
  v.label = q.blob(0);
  v.version = static_cast<uint32_t>(q.i64(1));
  v.value = q.blob(2);
  v.opening = q.secure_blob(3);
  v.vrf_proof = q.blob(4);
  v.index = q.blob(5);
  v.epoch = q.u64(6);
  return v;
}

template <class T>
Result<T> epoch_blob(Connection& c, std::string_view sql, uint64_t epoch, const char* what) {
  SOTTO_TRY_ASSIGN(Query q, c.query(sql));
  q.bind(epoch);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row)
    return Error(Errc::not_found,
                 std::string("no ") + what + " for epoch " + std::to_string(epoch));
  auto decoded = tls::decode<T>(q.blob(0), kOwnData);
  if (!decoded.ok()) {
    return Error(Errc::internal, std::string("the stored ") + what + " of epoch " +
                                     std::to_string(epoch) +
                                     " does not decode: " + decoded.error().to_string());
  }
  return std::move(decoded).value();
}

}  // namespace

Result<void> recover_key_directory(Connection& c) {
  // Node (level, idx) covers leaves up to (idx + 1) * 2^level; leaf e - 1 belongs to epoch e.
  // Levels of 62 and more cannot be genuine (and would overflow the shift).
  SOTTO_TRY_ASSIGN(
      Query q, c.query("DELETE FROM kt_log_nodes WHERE level >= 62 OR "
                       "((idx + 1) << level) > (SELECT COALESCE(MAX(epoch), 0) FROM kt_epochs)"));
  SOTTO_TRY_CTX(q.run(), "recover key directory");
  return success();
}

// ---- log ----

Result<uint64_t> SqliteLogStore::leaf_count() const {
  return reader_->read([](Connection& c) { return next_of_level(c, 0); });
}

Result<void> SqliteLogStore::append(std::span<const kt::StoredNode> nodes) {
  std::vector<kt::StoredNode> copy(nodes.begin(), nodes.end());
  return writer_->write([copy = std::move(copy)](Connection& c) -> Result<void> {
    // Checked before anything is written, though the savepoint would undo a partial append.
    for (const kt::StoredNode& n : copy) {
      SOTTO_TRY_ASSIGN(uint64_t next, next_of_level(c, n.id.level));
      if (n.id.index != next) {
        return Error(Errc::invalid_argument, "log store: node " + std::to_string(n.id.level) + "/" +
                                                 std::to_string(n.id.index) +
                                                 " is not the next of its level (" +
                                                 std::to_string(next) + ")");
      }
    }
    for (const kt::StoredNode& n : copy) {
      SOTTO_TRY_ASSIGN(Query q, c.query("INSERT INTO kt_log_nodes (level, idx, hash) "
                                        "VALUES (?1, ?2, ?3)"));
      SOTTO_TRY(q.bind_all(n.id.level, n.id.index, BytesView(n.hash)).run());
    }
    return success();
  });
}

Result<kt::Hash> SqliteLogStore::node(kt::NodeId id) const {
  return reader_->read([id](Connection& c) -> Result<kt::Hash> {
    SOTTO_TRY_ASSIGN(Query q,
                     c.query("SELECT hash FROM kt_log_nodes WHERE level = ?1 AND idx = ?2"));
    q.bind_all(id.level, id.index);
    SOTTO_TRY_ASSIGN(bool row, q.step());
    const Bytes hash = row ? q.blob(0) : Bytes{};
    if (hash.size() != kt::kHashSize) {
      return Error(Errc::not_found, "log store: no node " + std::to_string(id.level) + "/" +
                                        std::to_string(id.index));
    }
    kt::Hash out{};
    std::copy(hash.begin(), hash.end(), out.begin());
    return out;
  });
}

// ---- directory ----

Result<uint64_t> SqliteDirectoryStore::epoch_count() const {
  return reader_->read([](Connection& c) -> Result<uint64_t> {
    SOTTO_TRY_ASSIGN(Query q, c.query("SELECT COALESCE(MAX(epoch), 0) FROM kt_epochs"));
    SOTTO_TRY_ASSIGN(bool row, q.step());
    return row ? q.u64(0) : uint64_t{0};
  });
}

Result<void> SqliteDirectoryStore::append_epoch(const kt::EpochRecord& epoch) {
  auto head = tls::encode(epoch.head);
  auto audit = tls::encode(epoch.audit);
  auto versions = std::make_shared<std::vector<kt::VersionRecord>>(epoch.versions);
  const uint64_t number = epoch.head.epoch;
  return writer_->write([number, head = std::move(head), audit = std::move(audit),
                         versions](Connection& c) -> Result<void> {
    {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT COALESCE(MAX(epoch), 0) FROM kt_epochs"));
      SOTTO_TRY_ASSIGN(bool row, q.step());
      const uint64_t count = row ? q.u64(0) : 0;
      if (number != count + 1) {
        return Error(Errc::invalid_argument,
                     "epoch " + std::to_string(number) + " is not the next one");
      }
    }
    {
      SOTTO_TRY_ASSIGN(Query q, c.query("INSERT INTO kt_epochs (epoch, head, audit) "
                                        "VALUES (?1, ?2, ?3)"));
      SOTTO_TRY(q.bind_all(number, head, audit).run());
    }
    for (const kt::VersionRecord& v : *versions) {
      SOTTO_TRY_ASSIGN(uint32_t count, count_versions(c, v.label));
      if (v.version != count) return Error(Errc::invalid_argument, "a version out of sequence");
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query(
              "INSERT INTO kt_versions (label, version, value, opening, vrf_proof, prefix_index, "
              "epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      SOTTO_TRY(
          q.bind_all(v.label, v.version, v.value, v.opening, v.vrf_proof, v.index, v.epoch).run());
    }
    return success();
  });
}

Result<std::vector<kt::VersionRecord>> SqliteDirectoryStore::versions(BytesView label) const {
  return reader_->read([label](Connection& c) -> Result<std::vector<kt::VersionRecord>> {
    SOTTO_TRY_ASSIGN(Query q, c.query("SELECT label, version, value, opening, vrf_proof, "
                                      "prefix_index, epoch FROM kt_versions "
                                      "WHERE label = ?1 ORDER BY version"));
    q.bind(label);
    std::vector<kt::VersionRecord> out;
    for (;;) {
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) break;
      out.push_back(version_from(q));
    }
    return out;
  });
}

Result<uint32_t> SqliteDirectoryStore::version_count(BytesView label) const {
  return reader_->read([label](Connection& c) { return count_versions(c, label); });
}

Result<kt::SignedTreeHead> SqliteDirectoryStore::head(uint64_t epoch) const {
  return reader_->read([epoch](Connection& c) {
    return epoch_blob<kt::SignedTreeHead>(c, "SELECT head FROM kt_epochs WHERE epoch = ?1", epoch,
                                          "head");
  });
}

Result<kt::EpochAudit> SqliteDirectoryStore::audit(uint64_t epoch) const {
  return reader_->read([epoch](Connection& c) {
    return epoch_blob<kt::EpochAudit>(c, "SELECT audit FROM kt_epochs WHERE epoch = ?1", epoch,
                                      "audit");
  });
}

Result<void> SqliteDirectoryStore::for_each_version(
    const std::function<Result<void>(const kt::VersionRecord&)>& visit) const {
  return reader_->read([&visit](Connection& c) -> Result<void> {
    SOTTO_TRY_ASSIGN(Query q, c.query("SELECT label, version, value, opening, vrf_proof, "
                                      "prefix_index, epoch FROM kt_versions"));
    for (;;) {
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return success();
      SOTTO_TRY(visit(version_from(q)));
    }
  });
}

}  // namespace sotto::store::sql
