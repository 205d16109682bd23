// The SQLite schema as numbered migrations: migration N brings a database from version N - 1
// to N. A migration is never edited once released; a change is a new one.
#pragma once

#include <cstdint>
#include <span>

#include "sqlite_db.h"

namespace sotto::store::sql {

struct Migration {
  uint32_t version;
  const char* sql;
};

std::span<const Migration> migrations();

// Applies the migrations newer than the database's version, in one transaction, and records
// each in schema_migrations. Errc::unsupported for a database newer than this build.
Result<void> migrate(Connection& connection);

}  // namespace sotto::store::sql
