// The key directory's stores in the server's database, so that the directory survives a
// restart: writes go through the store's writer (one transaction each), reads through its
// read connection.
#pragma once

#include "sotto/kt/directory_store.h"
#include "sotto/kt/log_store.h"
#include "sqlite_db.h"

namespace sotto::store::sql {

class SqliteLogStore final : public kt::LogStore {
 public:
  SqliteLogStore(Writer& writer, Reader& reader) : writer_(&writer), reader_(&reader) {}

  Result<uint64_t> leaf_count() const override;
  Result<void> append(std::span<const kt::StoredNode> nodes) override;
  Result<kt::Hash> node(kt::NodeId id) const override;

 private:
  Writer* writer_;
  Reader* reader_;
};

class SqliteDirectoryStore final : public kt::DirectoryStore {
 public:
  SqliteDirectoryStore(Writer& writer, Reader& reader) : writer_(&writer), reader_(&reader) {}

  Result<uint64_t> epoch_count() const override;
  Result<void> append_epoch(const kt::EpochRecord& epoch) override;
  Result<std::vector<kt::VersionRecord>> versions(BytesView label) const override;
  Result<uint32_t> version_count(BytesView label) const override;
  Result<kt::SignedTreeHead> head(uint64_t epoch) const override;
  Result<kt::EpochAudit> audit(uint64_t epoch) const override;
  // The visitor runs while the read connection is held: it must not call back into the store.
  Result<void> for_each_version(
      const std::function<Result<void>(const kt::VersionRecord&)>& visit) const override;

 private:
  Writer* writer_;
  Reader* reader_;
};

// Directory::publish appends to the log, then stores the epoch, in two transactions. A crash
// between them leaves a log leaf (and the subtrees it completed) for an epoch that was never
// stored, and nobody has seen: its head was not returned. Run at open, this removes such
// nodes so that Directory::open finds the log and the epochs in agreement again.
Result<void> recover_key_directory(Connection& connection);

}  // namespace sotto::store::sql
