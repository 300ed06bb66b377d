#include "tools/load/load_report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace actorsync::load {
namespace {

timeline_point point(double elapsed_s, std::uint64_t writes_acked, std::uint64_t sessions_bound,
                     std::uint64_t errors = 0, std::uint64_t writes_committed = 0) {
  timeline_point p;
  p.elapsed_s = elapsed_s;
  p.writes_acked = writes_acked;
  p.sessions_bound = sessions_bound;
  p.errors = errors;
  p.writes_committed = writes_committed;
  return p;
}

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
  r.timeline = {point(1, 1000, 200), point(2, 2000, 200)};
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

// A stand-in for Chart.js: the page's own parts are checked apart from the library.
const std::string stub_chart_js = "/* stub Chart.js */ window.Chart = function () {};";

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(LoadReport, JsonTimelineHasPerSecondRatesErrorsSessionsAndPercentiles) {
  auto r = sample_report();
  r.timeline.clear();
  auto first = point(1.0, 800, 200, 0, 900);
  for (int i = 1; i <= 100; ++i) first.latency.record(std::chrono::microseconds(i * 1000));
  // Nothing measured in this second.
  auto second = point(2.0, 2000, 150, 3, 2000);
  r.timeline = {first, second};
  const auto j = nlohmann::json::parse(to_json(r));
  const auto& t = j["timeline"];
  ASSERT_EQ(t.size(), 2u);
  // The first second counts from the start of the run: it is not dropped.
  EXPECT_DOUBLE_EQ(t[0]["writes_acked_per_s"].get<double>(), 800.0);
  EXPECT_DOUBLE_EQ(t[1]["writes_acked_per_s"].get<double>(), 1200.0);
  EXPECT_DOUBLE_EQ(t[0]["writes_committed_per_s"].get<double>(), 900.0);
  EXPECT_DOUBLE_EQ(t[1]["writes_committed_per_s"].get<double>(), 1100.0);
  EXPECT_DOUBLE_EQ(t[0]["errors_per_s"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(t[1]["errors_per_s"].get<double>(), 3.0);
  EXPECT_EQ(t[1]["errors"], 3);
  EXPECT_EQ(t[0]["sessions_bound"], 200);
  EXPECT_EQ(t[1]["sessions_bound"], 150);
  EXPECT_EQ(t[0]["latency_ms"]["count"], 100);
  EXPECT_NEAR(t[0]["latency_ms"]["p50"].get<double>(), 50.0, 1.0);
  EXPECT_NEAR(t[0]["latency_ms"]["p90"].get<double>(), 90.0, 1.5);
  EXPECT_NEAR(t[0]["latency_ms"]["p99"].get<double>(), 99.0, 1.5);
  EXPECT_EQ(t[1]["latency_ms"]["count"], 0);
  EXPECT_TRUE(t[1]["latency_ms"]["p99"].is_null());
}

TEST(LoadReport, JsonCarriesTheRunContextAndTheLatencyHistogram) {
  auto r = sample_report();
  r.seed = 77;
  r.context = {
      "actorsync-load --workload upload", "0.1.0", "2026-12-07T17:30:00Z", "host", 8, 16ull << 30};
  const auto j = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(j["seed"], 77);
  EXPECT_EQ(j["run"]["command_line"], "actorsync-load --workload upload");
  EXPECT_EQ(j["run"]["version"], "0.1.0");
  EXPECT_EQ(j["run"]["started_at_utc"], "2026-12-07T17:30:00Z");
  EXPECT_EQ(j["run"]["hostname"], "host");
  EXPECT_EQ(j["run"]["cpu_cores"], 8);
  EXPECT_EQ(j["run"]["memory_bytes"], 16ull << 30);
  std::uint64_t samples = 0;
  for (const auto& b : j["latency_histogram"]) samples += b["count"].get<std::uint64_t>();
  EXPECT_EQ(samples, 100u);
}

TEST(LoadReport, HtmlInlinesTheLibraryAndLoadsNothingFromTheNetwork) {
  auto r = sample_report();
  r.context.command_line = "actorsync-load --seed 5";
  r.context.started_at_utc = "2026-12-07T17:30:00Z";
  r.context.hostname = "build-host";
  const auto html = to_html(r, stub_chart_js);
  EXPECT_NE(html.find(stub_chart_js), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  for (const char* canvas : {"chart-percentiles", "chart-throughput", "chart-errors",
                             "chart-sessions", "chart-histogram"}) {
    EXPECT_NE(html.find(std::string("<canvas id='") + canvas + "'"), std::string::npos) << canvas;
  }
  // The data series the charts draw, the log latency axes and the ready marker for checks.
  for (const char* text : {"\"writes_acked_per_s\"", "\"writes_committed_per_s\"",
                           "\"errors_per_s\"", "\"sessions_bound\"", "\"p99\"", "\"lower_ms\"",
                           "type: \"logarithmic\"", "data-ready", "data-nonempty"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text;
  }
  // The summary.
  for (const char* text :
       {"actorsync-load --seed 5", "2026-12-07T17:30:00Z", "build-host", "passed"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text;
  }
}

TEST(LoadReport, HtmlPrintsValuesWithSensiblePrecision) {
  auto r = sample_report();
  r.duration_s = 12.3456789;
  const auto html = to_html(r, stub_chart_js);
  EXPECT_NE(html.find("1234 writes/s"), std::string::npos);  // writes_per_s 1234.5
  EXPECT_NE(html.find("12.3 s"), std::string::npos);
  EXPECT_EQ(html.find("12.345678"), std::string::npos);
  EXPECT_EQ(html.find("1234.500000"), std::string::npos);
}

TEST(LoadReport, ScriptTextCannotEndItsElement) {
  const auto html = to_html(sample_report(), "var s = '</script><b>';");
  EXPECT_EQ(occurrences(html, "</script>"), occurrences(html, "<script"));
}

TEST(LoadReport, ChartJsMissingIsAClearError) {
  try {
    (void)read_chart_js("/nonexistent/chart.min.js");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/chart.min.js"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("libjs-chart.js"), std::string::npos);
  }
}

TEST(LoadReport, DebiansChartJsIsInlined) {
  std::string library;
  try {
    library = read_chart_js(default_chart_js_path);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << e.what();
  }
  EXPECT_NE(library.find("Chart.js v3"), std::string::npos);
  const auto html = to_html(sample_report(), library);
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(occurrences(html, "</script>"), occurrences(html, "<script"));
}

TEST(LoadReport, HistogramBinsHaveTrueWidthsAndKeepEmptyBins) {
  latency_histogram h;
  for (int i = 0; i < 10; ++i) h.record(std::chrono::microseconds(1000));
  for (int i = 0; i < 5; ++i) h.record(std::chrono::microseconds(8000));
  const auto bins = log_bins(h, 4);
  // 1 ms to 8 ms is three octaves: the bins between the two values are there, empty.
  ASSERT_GE(bins.size(), 12u);
  ASSERT_LE(bins.size(), 14u);
  std::uint64_t total = 0, empty = 0;
  for (std::size_t i = 0; i < bins.size(); ++i) {
    total += bins[i].count;
    if (bins[i].count == 0) ++empty;
    EXPECT_NEAR(bins[i].upper_us / bins[i].lower_us, std::exp2(0.25), 1e-9);
    if (i > 0) {
      EXPECT_DOUBLE_EQ(bins[i].lower_us, bins[i - 1].upper_us);
    }
  }
  EXPECT_EQ(total, 15u);
  EXPECT_EQ(empty, bins.size() - 2);
  EXPECT_EQ(bins.front().count, 10u);
  EXPECT_EQ(bins.back().count, 5u);
  EXPECT_LE(bins.front().lower_us, 1000.0);
  EXPECT_GT(bins.front().upper_us, 1000.0);
  EXPECT_TRUE(log_bins(latency_histogram{}).empty());
}

TEST(LoadReport, NumbersHaveThreeSignificantDigits) {
  EXPECT_EQ(format_number(1234.6), "1235");
  EXPECT_EQ(format_number(2.5), "2.5");
  EXPECT_EQ(format_number(2.0), "2");
  EXPECT_EQ(format_number(0.012345), "0.0123");
  EXPECT_EQ(format_number(12.3456789), "12.3");
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(-3.14159), "-3.14");
}

// A server that starts at 100 MiB, peaks at 160 MiB at 200 s and ends at 150 MiB, read every
// 5 s for 7 minutes.
memory_series soak_memory() {
  constexpr std::uint64_t mib = 1024 * 1024;
  memory_series m{"embedded", 4242, {}};
  for (int t = 0; t <= 420; t += 5) {
    const auto rss = t <= 200 ? 100 * mib + static_cast<std::uint64_t>(t) * 3 * mib / 10
                              : 160 * mib - static_cast<std::uint64_t>(t - 200) * mib / 22;
    m.samples.push_back({static_cast<double>(t), rss});
  }
  m.samples.push_back({421.5, 150 * mib});
  return m;
}

TEST(LoadReport, MemorySummaryGivesStartPeakEndAndGrowth) {
  const auto s = summarize(soak_memory());
  EXPECT_EQ(s.start_bytes, 100u * 1024 * 1024);
  EXPECT_EQ(s.peak_bytes, 160u * 1024 * 1024);
  EXPECT_DOUBLE_EQ(s.peak_at_s, 200);
  EXPECT_EQ(s.end_bytes, 150u * 1024 * 1024);
  EXPECT_EQ(s.growth_bytes, 50 * 1024 * 1024);
  const auto shrinking = summarize({"node-0", 1, {{0, 300}, {5, 200}}});
  EXPECT_EQ(shrinking.growth_bytes, -100);
  EXPECT_EQ(summarize({"node-0", 1, {}}).peak_bytes, 0u);
}

TEST(LoadReport, MemoryTableShowsEveryMinuteOfALongRunAndEverySampleOfAShortOne) {
  std::vector<double> at;
  for (const auto& row : memory_table_rows(soak_memory())) at.push_back(row.elapsed_s);
  EXPECT_EQ(at, (std::vector<double>{0, 60, 120, 180, 240, 300, 360, 420, 421.5}));
  const memory_series short_run{"embedded", 1, {{0.1, 10}, {5.1, 20}, {7, 30}}};
  EXPECT_EQ(memory_table_rows(short_run).size(), 3u);
}

TEST(LoadReport, ServerMemoryGoesIntoTheJsonTheTableAndAChart) {
  auto r = sample_report();
  r.server_memory = {soak_memory()};
  const auto j = nlohmann::json::parse(to_json(r));
  ASSERT_EQ(j["server_memory"].size(), 1u);
  const auto& m = j["server_memory"][0];
  EXPECT_EQ(m["name"], "embedded");
  EXPECT_EQ(m["pid"], 4242);
  EXPECT_EQ(m["samples"].size(), soak_memory().samples.size());
  EXPECT_EQ(m["samples"][0]["rss_bytes"], 100 * 1024 * 1024);
  EXPECT_EQ(m["peak_bytes"], 160 * 1024 * 1024);
  EXPECT_EQ(m["growth_bytes"], 50 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(m["interval_s"].get<double>(), server_memory_interval_s);

  std::ostringstream table;
  print_table(table, r);
  EXPECT_NE(table.str().find("start 100 MiB, peak 160 MiB at 200 s, end 150 MiB, growth +50 MiB"),
            std::string::npos)
      << table.str();
  EXPECT_NE(table.str().find("at 360.0 s"), std::string::npos) << table.str();

  EXPECT_NE(to_html(r, stub_chart_js).find("<canvas id='chart-server-memory'"), std::string::npos);
  // Without samples (an external server) there is no memory chart: the page keeps five.
  EXPECT_EQ(to_html(sample_report(), stub_chart_js).find("chart-server-memory'"),
            std::string::npos);
}

TEST(LoadReport, TableNamesTheResult) {
  std::ostringstream out;
  print_table(out, sample_report());
  EXPECT_NE(out.str().find("PASSED"), std::string::npos);
}

}  // namespace
}  // namespace actorsync::load
