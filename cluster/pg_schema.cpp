#include "cluster/pg_schema.hpp"

namespace actorsync::cluster {

namespace {

// Any number unlikely to be used by another application sharing the database.
constexpr long long schema_lock_key = 0x6163746f7273796eLL;  // "actorsyn"

constexpr const char* schema = R"sql(
-- One row per node: its lease, on the database clock (now()), renewed every second or so.
CREATE TABLE IF NOT EXISTS actorsync_nodes (
  node       text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
-- One row per realm: the head of its history and who may write it. epoch rises by one at every
-- acquisition; a group commit moves the head only WHERE version = old AND epoch = mine.
CREATE TABLE IF NOT EXISTS actorsync_heads (
  realm       text PRIMARY KEY,
  version     bigint NOT NULL,  -- latest server version
  total_bytes bigint NOT NULL,  -- history bytes through version
  last_ident  bigint NOT NULL,  -- last allocated client file ident
  owner       text,             -- NULL: released
  epoch       bigint NOT NULL
);
-- Each realm's history, one changeset per server version (protocol encoding, with the server
-- version and origin set), with the cumulative figures that make remaining_bytes cheap.
CREATE TABLE IF NOT EXISTS actorsync_history (
  realm       text   NOT NULL,
  version     bigint NOT NULL,
  origin      bigint NOT NULL,  -- client file ident of the uploader
  cumulative  bigint NOT NULL,  -- realm's history bytes through this version
  own_cumulative bigint NOT NULL,  -- origin's own bytes through this version
  changeset   bytea  NOT NULL,
  PRIMARY KEY (realm, version)
);
CREATE INDEX IF NOT EXISTS actorsync_history_by_origin
  ON actorsync_history (realm, origin, version);
-- Client file idents per realm and what each has had integrated (exactly-once uploads).
CREATE TABLE IF NOT EXISTS actorsync_clients (
  realm               text   NOT NULL,
  ident               bigint NOT NULL,
  salt                bigint NOT NULL,
  last_client_version bigint NOT NULL,
  own_bytes           bigint NOT NULL,
  PRIMARY KEY (realm, ident)
);
)sql";

}  // namespace

void create_schema(pqxx::connection& connection) {
  pqxx::work tx(connection);
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", schema_lock_key);
  tx.exec(schema);
  tx.commit();
}

}  // namespace actorsync::cluster
