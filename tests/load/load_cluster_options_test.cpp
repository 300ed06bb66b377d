// actorsync-load --cluster refuses what it cannot run before starting anything: without
// PostgreSQL (or nats-server) it stops with exit status 2 naming the package, and --cluster
// does not combine with --server-url. No PostgreSQL or NATS needed (label load).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace {

using actorsync::testing::temp_dir;

struct load_result {
  int exit_status = -1;
  std::string errors;
};

load_result run_load(const temp_dir& dir, const std::string& environment,
                     const std::string& arguments) {
  const auto err = dir.path() / "stderr";
  const auto command = environment + " " + std::string(ACTORSYNC_LOAD_BINARY) + " " + arguments +
                       " > /dev/null 2> " + err.string();
  load_result result;
  const int status = std::system(command.c_str());
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err);
  result.errors.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return result;
}

TEST(LoadClusterOptions, WithoutPostgresItStopsBeforeTheRunNamingThePackage) {
  const temp_dir dir("load-cluster-options");
  auto r = run_load(dir, "PG_BIN=" + (dir.path() / "no-postgres").string(),
                    "--cluster 1 --workload upload --realms 1 --writes 1");
  EXPECT_EQ(r.exit_status, 2) << r.errors;
  EXPECT_NE(r.errors.find("--cluster needs PostgreSQL 15"), std::string::npos) << r.errors;
  EXPECT_NE(r.errors.find("apt-get install postgresql"), std::string::npos) << r.errors;
}

TEST(LoadClusterOptions, WithoutNatsServerItStopsBeforeTheRunNamingThePackage) {
  const temp_dir dir("load-cluster-options");
  // PostgreSQL starts first (when installed) and is stopped again: the script's exit code 3
  // is told apart from a failure.
  auto r = run_load(dir, "NATS_SERVER=" + (dir.path() / "no-nats-server").string(),
                    "--cluster 1 --workload upload --realms 1 --writes 1");
  EXPECT_EQ(r.exit_status, 2) << r.errors;
  EXPECT_TRUE(r.errors.find("--cluster needs nats-server") != std::string::npos ||
              r.errors.find("--cluster needs PostgreSQL 15") != std::string::npos)
      << r.errors;
}

TEST(LoadClusterOptions, ClusterAndServerUrlExcludeEachOther) {
  const temp_dir dir("load-cluster-options");
  auto r = run_load(dir, "", "--cluster 2 --server-url ws://127.0.0.1:1 --token t");
  EXPECT_EQ(r.exit_status, 2) << r.errors;
  EXPECT_NE(r.errors.find("--cluster and --server-url exclude each other"), std::string::npos)
      << r.errors;
}

}  // namespace
