// Internal to cluster/. The tables of the PostgreSQL history store (docs/cluster.md has the
// picture): created when missing, under an advisory lock so that nodes starting together do
// not race on CREATE TABLE.
#pragma once

#include <pqxx/pqxx>

namespace actorsync::cluster {

/// Creates the tables and indexes that do not exist yet (idempotent, one transaction).
void create_schema(pqxx::connection& connection);

}  // namespace actorsync::cluster
