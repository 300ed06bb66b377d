#include "tools/load/load_report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace actorsync::load {
namespace {

load_report sample_report() {
  load_report r;
  r.workload = "upload";
  r.realms = 200;
  r.writes_committed = 2000;
  r.writes_acked = 2000;
  r.writes_per_s = 1234.5;
  r.sockets = 1;
  r.convergence_checked = true;
  r.converged = true;
  for (int i = 1; i <= 100; ++i) r.latency.record(std::chrono::microseconds(i * 100));
  r.timeline = {{0, 0, 0}, {1, 1000, 200}, {2, 2000, 200}};
  return r;
}

TEST(LoadReport, JsonCarriesTheDocumentedFields) {
  const auto j = nlohmann::json::parse(to_json(sample_report()));
  for (const char* key : {"workload", "realms", "writes_acked", "writes_per_s", "latency_ms",
                          "client_rss_bytes_per_session", "server_rss_bytes_per_session", "sockets",
                          "errors", "converged"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["writes_acked"], 2000);
  EXPECT_DOUBLE_EQ(j["latency_ms"]["max"].get<double>(), 10.0);
  EXPECT_TRUE(j["passed"].get<bool>());
}

TEST(LoadReport, UnacknowledgedWritesErrorsOrDivergenceFailTheRun) {
  auto r = sample_report();
  r.writes_acked = 1999;
  EXPECT_FALSE(r.passed());
  r = sample_report();
  r.errors = 1;
  EXPECT_FALSE(r.passed());
  r = sample_report();
  r.converged = false;
  EXPECT_FALSE(r.passed());
  r = sample_report();
  r.interrupted = true;
  EXPECT_FALSE(r.passed());
}

TEST(LoadReport, HtmlIsSelfContainedWithInlineSvg) {
  const auto html = to_html(sample_report());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // only the namespace
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(LoadReport, TableNamesTheResult) {
  std::ostringstream out;
  print_table(out, sample_report());
  EXPECT_NE(out.str().find("PASSED"), std::string::npos);
}

}  // namespace
}  // namespace actorsync::load
