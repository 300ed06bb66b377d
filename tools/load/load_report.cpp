#include "tools/load/load_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace actorsync::load {

namespace {

double to_ms(std::chrono::microseconds us) {
  return static_cast<double>(us.count()) / 1000.0;
}

nlohmann::json latency_json(const latency_histogram& h) {
  return {{"count", h.count()},
          {"p50", to_ms(h.percentile(0.50))},
          {"p90", to_ms(h.percentile(0.90))},
          {"p99", to_ms(h.percentile(0.99))},
          {"max", to_ms(h.max())}};
}

// A second's latencies: the percentiles are null when nothing was measured in it.
nlohmann::json interval_latency_json(const latency_histogram& h) {
  if (h.count() == 0) {
    return {{"count", 0}, {"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}, {"max", nullptr}};
  }
  return latency_json(h);
}

// The timeline with per-interval rates; the first interval starts at 0, so none is dropped.
nlohmann::json timeline_json(const load_report& r) {
  nlohmann::json rows = nlohmann::json::array();
  double previous_s = 0;
  std::uint64_t previous_acked = 0, previous_committed = 0, previous_errors = 0;
  for (const auto& p : r.timeline) {
    const double dt = p.elapsed_s - previous_s;
    auto per_s = [dt](std::uint64_t now, std::uint64_t before) {
      const auto delta = static_cast<double>(now >= before ? now - before : 0);
      return dt > 0 ? delta / dt : 0.0;
    };
    rows.push_back({{"elapsed_s", p.elapsed_s},
                    {"writes_acked", p.writes_acked},
                    {"writes_acked_per_s", per_s(p.writes_acked, previous_acked)},
                    {"writes_committed", p.writes_committed},
                    {"writes_committed_per_s", per_s(p.writes_committed, previous_committed)},
                    {"errors", p.errors},
                    {"errors_per_s", per_s(p.errors, previous_errors)},
                    {"sessions_bound", p.sessions_bound},
                    {"latency_ms", interval_latency_json(p.latency)}});
    previous_s = p.elapsed_s;
    previous_acked = p.writes_acked;
    previous_committed = p.writes_committed;
    previous_errors = p.errors;
  }
  return rows;
}

nlohmann::json processes_json(const std::vector<process_figures>& processes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : processes)
    out.push_back({{"name", p.name}, {"pids", p.pids}, {"cpu_s", p.cpu_s}});
  return out;
}

nlohmann::json servers_json(const std::vector<server_usage>& servers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : servers) {
    nlohmann::json entry = {{"url", s.url}, {"connects", s.connects}, {"errors", s.errors}};
    if (!s.node.empty()) {
      entry["node"] = s.node;
      entry["pid"] = s.pid;
      entry["metrics_url"] = s.metrics_url;
    }
    out.push_back(entry);
  }
  return out;
}

nlohmann::json context_json(const run_context& c) {
  return {{"command_line", c.command_line},     {"version", c.version},
          {"started_at_utc", c.started_at_utc}, {"hostname", c.hostname},
          {"cpu_cores", c.cpu_cores},           {"memory_bytes", c.memory_bytes}};
}

std::string escape_html(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// Text placed inside <script>: "</" would end the element early.
std::string escape_script(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') out += "\\";
  }
  return out;
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return format_number(value) + " " + units[unit];
}

// "0.0 s", "60.2 s", "421.5 s": the times of a memory table line up.
std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", seconds);
  return text;
}

// "+39 MiB", "-2.5 MiB", "0 B".
std::string format_signed_bytes(std::int64_t bytes) {
  const auto magnitude = static_cast<std::uint64_t>(bytes < 0 ? -bytes : bytes);
  return std::string(bytes > 0 ? "+" : bytes < 0 ? "-" : "") + format_bytes(magnitude);
}

nlohmann::json server_memory_json(const std::vector<memory_series>& all) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : all) {
    const auto summary = summarize(m);
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : m.samples)
      samples.push_back({{"elapsed_s", s.elapsed_s}, {"rss_bytes", s.rss_bytes}});
    out.push_back({{"name", m.name},
                   {"pid", m.pid},
                   {"interval_s", server_memory_interval_s},
                   {"start_bytes", summary.start_bytes},
                   {"peak_bytes", summary.peak_bytes},
                   {"peak_at_s", summary.peak_at_s},
                   {"end_bytes", summary.end_bytes},
                   {"growth_bytes", summary.growth_bytes},
                   {"samples", samples}});
  }
  return out;
}

bool any_memory_samples(const std::vector<memory_series>& all) {
  return std::any_of(all.begin(), all.end(), [](const auto& m) { return !m.samples.empty(); });
}

// "embedded (pid 123)".
std::string memory_series_name(const memory_series& m) {
  return m.name + " (pid " + std::to_string(m.pid) + ")";
}

// "start 121 MiB, peak 166 MiB at 400 s, end 160 MiB, growth +39 MiB (85 samples)".
std::string memory_summary_text(const memory_series& m) {
  if (m.samples.empty()) return "no samples";
  const auto s = summarize(m);
  return "start " + format_bytes(s.start_bytes) + ", peak " + format_bytes(s.peak_bytes) + " at " +
         format_number(s.peak_at_s) + " s, end " + format_bytes(s.end_bytes) + ", growth " +
         format_signed_bytes(s.growth_bytes) + " (" + std::to_string(m.samples.size()) +
         " samples)";
}

// "node-0 ws://127.0.0.1:9090" for a server the tool started, the URL for an external one.
std::string server_name(const server_usage& s) {
  return s.node.empty() ? s.url : s.node + " " + s.url;
}

// "12 connection attempts, 3 errors, pid 123, http://127.0.0.1:9091/metrics".
std::string server_figures(const server_usage& s) {
  auto text =
      std::to_string(s.connects) + " connection attempts, " + std::to_string(s.errors) + " errors";
  if (s.pid > 0) text += ", pid " + std::to_string(s.pid);
  if (!s.metrics_url.empty()) text += ", " + s.metrics_url;
  return text;
}

// "client 12.3 s, node-0 4.56 s, postgresql 1.2 s, nats 0.1 s".
std::string cpu_text(const std::vector<process_figures>& processes) {
  std::string text;
  for (const auto& p : processes)
    text += (text.empty() ? "" : ", ") + p.name + " " + format_number(p.cpu_s) + " s";
  return text;
}

std::string latency_meaning(const std::string& workload) {
  if (workload == "fanout") return "commit to visible at a reader";
  if (workload == "idle" || workload == "churn") return "not measured by this workload";
  return "commit to acknowledgement";
}

// The page's script: draws the five charts (six with the servers' memory) from the data element,
// then marks the body with data-ready, data-charts (drawn) and data-nonempty (charts with data and
// painted pixels).
constexpr const char* page_script = R"JS(
(function () {
  "use strict";
  const body = document.body;
  window.addEventListener("error", (e) => body.setAttribute("data-error", String(e.message)));
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const fmt = (v) => {
    if (v === null || v === undefined || !isFinite(v)) return "";
    if (v === 0) return "0";
    const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
    return String(Number(v.toFixed(Math.min(digits, 6))));
  };
  // Log axes: label 1, 2 and 5 times powers of ten only.
  const logTick = (v) => {
    const m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
    return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-6) ? fmt(v) : "";
  };
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 12;
  const rows = data.timeline;
  const timeAxis = {
    type: "linear", min: 0, title: { display: true, text: "elapsed time (s)" },
    ticks: { callback: fmt }
  };
  const series = (f) => rows.map((p) => ({ x: p.elapsed_s, y: f(p) }));
  const line = (label, color, points, extra) => Object.assign({
    label, data: points, borderColor: color, backgroundColor: color, pointRadius: 2,
    borderWidth: 1.5, spanGaps: false
  }, extra || {});
  const tooltip = (unit) => ({
    callbacks: { label: (c) => c.dataset.label + ": " + fmt(c.parsed.y) + " " + unit,
                 title: (items) => items.length ? fmt(items[0].parsed.x) + " s" : "" }
  });
  const charts = [];
  const draw = (id, config) => {
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options);
    charts.push(new Chart(document.getElementById(id), config));
  };
  const ms = (p, k) => (p.latency_ms[k] === null ? null : p.latency_ms[k]);
  draw("chart-percentiles", {
    type: "line",
    data: { datasets: [
      line("p50", "#2b8a3e", series((p) => ms(p, "p50"))),
      line("p90", "#e67700", series((p) => ms(p, "p90"))),
      line("p99", "#c92a2a", series((p) => ms(p, "p99")))] },
    options: { scales: { x: timeAxis, y: { type: "logarithmic",
      title: { display: true, text: "latency (ms, log scale)" }, ticks: { callback: logTick } } },
      plugins: { tooltip: tooltip("ms") } }
  });
  draw("chart-throughput", {
    type: "line",
    data: { datasets: [line("acknowledged writes/s", "#1c7ed6",
                            series((p) => p.writes_acked_per_s), { fill: "origin",
                            backgroundColor: "rgba(28,126,214,0.15)" }),
                       line("committed writes/s", "#868e96",
                            series((p) => p.writes_committed_per_s), { borderDash: [4, 3] })] },
    options: { scales: { x: timeAxis, y: { min: 0, title: { display: true, text: "writes/s" },
      ticks: { callback: fmt } } }, plugins: { tooltip: tooltip("writes/s") } }
  });
  draw("chart-errors", {
    type: "line",
    data: { datasets: [line("errors/s", "#c92a2a", series((p) => p.errors_per_s),
                            { fill: "origin", backgroundColor: "rgba(201,42,42,0.15)" })] },
    options: { scales: { x: timeAxis, y: { min: 0, suggestedMax: 1,
      title: { display: true, text: "errors/s" }, ticks: { callback: fmt } } },
      plugins: { tooltip: tooltip("errors/s") } }
  });
  draw("chart-sessions", {
    type: "line",
    data: { datasets: [line("connected sessions", "#5f3dc4", series((p) => p.sessions_bound),
                            { stepped: "before" })] },
    options: { scales: { x: timeAxis, y: { min: 0, title: { display: true, text: "sessions" },
      ticks: { callback: fmt } } }, plugins: { tooltip: tooltip("sessions") } }
  });
  // Bars at their true edges: a stepped outline from the first bin's lower edge to the last
  // bin's upper edge; on the log axis every bin has the same width.
  const bins = data.histogram;
  const outline = [];
  if (bins.length) {
    outline.push({ x: bins[0].lower_ms, y: 0 });
    for (const b of bins) outline.push({ x: b.lower_ms, y: b.count });
    const last = bins[bins.length - 1];
    outline.push({ x: last.upper_ms, y: last.count }, { x: last.upper_ms, y: 0 });
  }
  draw("chart-histogram", {
    type: "line",
    data: { datasets: [line("samples", "#1c7ed6", outline, { stepped: "after", pointRadius: 0,
                            fill: "origin", backgroundColor: "rgba(28,126,214,0.3)" })] },
    options: { scales: {
      x: { type: "logarithmic", title: { display: true, text: "latency (ms, log scale)" },
           ticks: { callback: logTick } },
      y: { min: 0, title: { display: true, text: "samples per bin" }, ticks: { callback: fmt } } },
      plugins: { tooltip: { callbacks: {
        title: (items) => items.length ? "from " + fmt(items[0].parsed.x) + " ms" : "",
        label: (c) => fmt(c.parsed.y) + " samples" } } } }
  });
  // Only when the run sampled a server it started (the page has the canvas then).
  const memory = data.server_memory.filter((m) => m.samples.length > 0);
  if (memory.length) {
    const colors = ["#0b7285", "#d9480f", "#5c940d", "#862e9c", "#e64980"];
    draw("chart-server-memory", {
      type: "line",
      data: { datasets: memory.map((m, i) => line(m.name + " (pid " + m.pid + ")",
        colors[i % colors.length], m.samples.map((s) => ({ x: s.elapsed_s,
                                                           y: s.rss_bytes / 1048576 })))) },
      options: { scales: { x: timeAxis, y: { min: 0,
        title: { display: true, text: "resident memory (MiB)" }, ticks: { callback: fmt } } },
        plugins: { tooltip: tooltip("MiB") } }
    });
  }
  // Without latency samples (idle, churn) the two latency charts are empty by design.
  const noLatency = data.latency_samples === 0;
  let nonempty = 0, expectedEmpty = 0;
  for (const chart of charts) {
    const points = chart.data.datasets.reduce(
      (n, d) => n + d.data.filter((p) => p.y !== null && isFinite(p.y)).length, 0);
    const canvas = chart.canvas;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) ++painted;
    canvas.setAttribute("data-points", String(points));
    canvas.setAttribute("data-painted", String(painted));
    const latencyChart = canvas.id === "chart-percentiles" || canvas.id === "chart-histogram";
    if (points > 0 && painted > 0) {
      ++nonempty;
    } else if (noLatency && latencyChart && painted > 0) {
      ++expectedEmpty;
      canvas.setAttribute("data-expected-empty", "true");
    }
  }
  body.setAttribute("data-expected-empty", String(expectedEmpty));
  body.setAttribute("data-charts", String(charts.length));
  body.setAttribute("data-nonempty", String(nonempty));
  body.setAttribute("data-ready", "true");
})();
)JS";

}  // namespace

bool load_report::passed() const {
  const bool all_acked = writes_acked == writes_committed;
  return errors == 0 && all_acked && !interrupted && (!convergence_checked || converged);
}

std::string format_number(double value, int significant) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  if (value == 0) return "0";
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  const int decimals = std::clamp(significant - 1 - magnitude, 0, 12);
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string out = text;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out == "-0" ? "0" : out;
}

memory_summary summarize(const memory_series& series) {
  memory_summary out;
  if (series.samples.empty()) return out;
  out.start_bytes = series.samples.front().rss_bytes;
  out.end_bytes = series.samples.back().rss_bytes;
  for (const auto& s : series.samples) {
    if (s.rss_bytes > out.peak_bytes) {
      out.peak_bytes = s.rss_bytes;
      out.peak_at_s = s.elapsed_s;
    }
  }
  out.growth_bytes =
      static_cast<std::int64_t>(out.end_bytes) - static_cast<std::int64_t>(out.start_bytes);
  return out;
}

std::vector<memory_sample> memory_table_rows(const memory_series& series, std::size_t max_rows) {
  const auto& all = series.samples;
  if (all.size() <= max_rows) return all;
  std::vector<memory_sample> rows{all.front()};
  double next_minute = 60;
  for (std::size_t i = 1; i + 1 < all.size(); ++i) {
    if (all[i].elapsed_s < next_minute) continue;
    rows.push_back(all[i]);
    while (next_minute <= all[i].elapsed_s) next_minute += 60;
  }
  rows.push_back(all.back());
  return rows;
}

std::vector<histogram_bin> log_bins(const latency_histogram& h, int per_octave) {
  std::vector<histogram_bin> bins;
  const auto fine = h.buckets();
  if (fine.empty()) return bins;
  // A fine bucket [lower, upper] holds integer microseconds, i.e. the interval
  // [lower, upper + 1); it goes to the bin holding its middle. Bin k is [2^(k/n), 2^((k+1)/n)).
  const double n = per_octave;
  auto bin_of = [n](const latency_histogram::bucket& b) {
    const double middle =
        (static_cast<double>(b.lower_us) + static_cast<double>(b.upper_us) + 1) / 2;
    return static_cast<long>(std::floor(std::log2(std::max(middle, 1.0)) * n));
  };
  const long first = bin_of(fine.front());
  const long last = bin_of(fine.back());
  for (long k = first; k <= last; ++k) {
    bins.push_back(
        {std::exp2(static_cast<double>(k) / n), std::exp2(static_cast<double>(k + 1) / n), 0});
  }
  for (const auto& b : fine) bins[static_cast<std::size_t>(bin_of(b) - first)].count += b.count;
  return bins;
}

std::string read_chart_js(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().find("Chart") == std::string::npos) {
    throw std::runtime_error("--html needs Chart.js at " + path +
                             " (Debian package libjs-chart.js, installed by tools/install-deps.sh;"
                             " or pass --chart-js FILE)");
  }
  return text.str();
}

std::string to_json(const load_report& r) {
  nlohmann::json histogram = nlohmann::json::array();
  for (const auto& b : r.latency.buckets()) {
    histogram.push_back({{"lower_us", b.lower_us}, {"upper_us", b.upper_us}, {"count", b.count}});
  }
  nlohmann::json j = {
      {"workload", r.workload},
      {"realms", r.realms},
      {"sessions", r.sessions},
      {"writes_per_realm", r.writes_per_realm},
      {"multiplexing", r.multiplexing},
      {"connections_configured", r.connections_configured},
      {"tls", r.tls},
      {"seed", r.seed},
      {"server_fsync", r.server_fsync},
      {"duration_s", r.duration_s},
      {"bind_all_s", r.bind_all_s},
      {"writes_committed", r.writes_committed},
      {"writes_acked", r.writes_acked},
      {"writes_per_s", r.writes_per_s},
      {"mb_per_s", r.mb_per_s},
      {"latency_ms", latency_json(r.latency)},
      {"latency_histogram", histogram},
      {"client_rss_bytes_per_session", r.client_rss_bytes_per_session},
      {"server_rss_bytes_per_session", r.server_rss_bytes_per_session},
      {"client_rss_base_bytes", r.client_rss_base_bytes},
      {"sockets", r.sockets},
      {"servers", servers_json(r.servers)},
      {"cluster_nodes", r.cluster_nodes},
      {"processes", processes_json(r.processes)},
      {"cpu_idle_percent", r.cpu_idle_percent},
      {"measured_after_memory_release", r.measured_after_memory_release},
      {"memory_releases", r.memory_releases},
      {"progress_events", r.progress_events},
      {"connection_events", r.connection_events},
      {"errors", r.errors},
      {"error_samples", r.error_samples},
      {"transient_errors", r.transient_errors},
      {"transient_error_samples", r.transient_error_samples},
      {"verified", r.verified},
      {"verify_missing", r.verify_missing},
      {"verify_unexpected", r.verify_unexpected},
      {"client_resets", r.client_resets},
      {"reset_s", r.reset_s},
      {"converged", r.converged},
      {"convergence_checked", r.convergence_checked},
      {"interrupted", r.interrupted},
      {"stopped_at_max_duration", r.stopped_at_max_duration},
      {"passed", r.passed()},
      {"run", context_json(r.context)},
      {"timeline", timeline_json(r)},
      {"server_memory", server_memory_json(r.server_memory)},
      {"client_metrics", r.client_metrics},
  };
  return j.dump(2);
}

std::string to_html(const load_report& r, const std::string& chart_js) {
  nlohmann::json bins = nlohmann::json::array();
  for (const auto& b : log_bins(r.latency)) {
    bins.push_back(
        {{"lower_ms", b.lower_us / 1000.0}, {"upper_ms", b.upper_us / 1000.0}, {"count", b.count}});
  }
  const nlohmann::json page_data = {{"timeline", timeline_json(r)},
                                    {"histogram", bins},
                                    {"latency_samples", r.latency.count()},
                                    {"server_memory", server_memory_json(r.server_memory)}};
  const auto ms = [&r](double q) { return format_number(to_ms(r.latency.percentile(q))); };

  std::ostringstream html;
  html << "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
       << "<meta name='viewport' content='width=device-width, initial-scale=1'>"
       << "<title>actorsync-load " << escape_html(r.workload) << "</title><style>"
       << "body{font-family:sans-serif;margin:1.5em 2em;color:#212529;max-width:1100px}"
       << "table.summary{border-collapse:collapse;margin-bottom:1em}"
       << "table.summary th,table.summary td{padding:3px 12px;text-align:left;"
       << "border-bottom:1px solid #dee2e6;vertical-align:top}"
       << "table.summary th{font-weight:600;white-space:nowrap}"
       << "code{font-size:90%;word-break:break-all}"
       << ".chart{position:relative;height:300px;margin-bottom:1.5em}"
       << ".passed{color:#2b8a3e;font-weight:700}.failed{color:#c92a2a;font-weight:700}"
       << "</style></head><body>\n";
  html << "<h1>actorsync-load: " << escape_html(r.workload) << "</h1>\n";
  auto row = [&html](const std::string& k, const std::string& v) {
    html << "<tr><th>" << escape_html(k) << "</th><td>" << escape_html(v) << "</td></tr>";
  };
  const auto& c = r.context;
  html << "<h2>Run</h2><table class='summary'>";
  html << "<tr><th>command line</th><td><code>" << escape_html(c.command_line)
       << "</code></td></tr>";
  row("seed", std::to_string(r.seed));
  row("version", c.version);
  row("started (UTC)", c.started_at_utc);
  row("machine", c.hostname + ", " + std::to_string(c.cpu_cores) + " cores, " +
                     format_bytes(c.memory_bytes) + " memory");
  row("server",
      std::string(r.tls ? "wss" : "ws") + (r.server_fsync ? "" : ", no fsync (not durable)"));
  html << "</table>\n<h2>Results</h2><table class='summary'>";
  const bool passed = r.passed();
  html << "<tr><th>result</th><td class='" << (passed ? "passed'>passed" : "failed'>FAILED")
       << (r.interrupted ? " (interrupted: partial report)" : "") << "</td></tr>";
  row("realms / sessions", std::to_string(r.realms) + " / " + std::to_string(r.sessions));
  row("duration", format_number(r.duration_s) +
                      " s (bind and catch up: " + format_number(r.bind_all_s) + " s)");
  row("writes acknowledged / committed",
      std::to_string(r.writes_acked) + " / " + std::to_string(r.writes_committed));
  row("throughput",
      format_number(r.writes_per_s) + " writes/s, " + format_number(r.mb_per_s) + " MB/s");
  row("latency (" + latency_meaning(r.workload) + ")",
      "p50 " + ms(0.5) + " ms, p90 " + ms(0.9) + " ms, p99 " + ms(0.99) + " ms, max " +
          format_number(to_ms(r.latency.max())) + " ms (" + std::to_string(r.latency.count()) +
          " samples)");
  row("memory per session", "client " +
                                format_bytes(static_cast<std::uint64_t>(
                                    std::max<std::int64_t>(0, r.client_rss_bytes_per_session))) +
                                ", server " +
                                format_bytes(static_cast<std::uint64_t>(
                                    std::max<std::int64_t>(0, r.server_rss_bytes_per_session))));
  row("sockets", std::to_string(r.sockets));
  for (const auto& s : r.servers) row("server " + server_name(s), server_figures(s));
  if (!r.processes.empty()) row("CPU during the workload", cpu_text(r.processes));
  for (const auto& m : r.server_memory)
    row("server memory " + memory_series_name(m), memory_summary_text(m));
  row("errors", std::to_string(r.errors));
  row("transient errors (retried by the runtime)", std::to_string(r.transient_errors));
  if (r.workload == "reset")
    row("client resets",
        std::to_string(r.client_resets) + " in " + format_number(r.reset_s) + " s");
  row("converged", r.convergence_checked ? (r.converged ? "yes" : "NO") : "not checked");
  html << "</table>\n";
  if (!r.error_samples.empty()) {
    html << "<h3>First errors</h3><ul>";
    for (const auto& e : r.error_samples) html << "<li><code>" << escape_html(e) << "</code></li>";
    html << "</ul>\n";
  }
  auto chart = [&html](const std::string& id, const std::string& title) {
    html << "<h2>" << escape_html(title) << "</h2><div class='chart'><canvas id='" << id
         << "'></canvas></div>\n";
  };
  chart("chart-percentiles",
        "Latency percentiles per second (" + latency_meaning(r.workload) + ")");
  chart("chart-throughput", "Throughput per second");
  chart("chart-errors", "Errors per second");
  chart("chart-sessions", "Active (connected) sessions");
  chart("chart-histogram", "Latency histogram (whole run)");
  if (any_memory_samples(r.server_memory)) {
    chart("chart-server-memory",
          "Server resident memory (every " + format_number(server_memory_interval_s) + " s)");
  }
  html << "<script id='report-data' type='application/json'>" << escape_script(page_data.dump())
       << "</script>\n";
  html << "<script>\n" << escape_script(chart_js) << "\n</script>\n";
  html << "<script>" << page_script << "</script>\n";
  html << "</body></html>\n";
  return html.str();
}

void print_table(std::ostream& out, const load_report& r) {
  auto line = [&out](const std::string& k, const std::string& v) {
    out << "  " << std::left << std::setw(34) << k << v << '\n';
  };
  std::ostringstream ms;
  ms << std::fixed << std::setprecision(2) << to_ms(r.latency.percentile(0.5)) << " / "
     << to_ms(r.latency.percentile(0.9)) << " / " << to_ms(r.latency.percentile(0.99)) << " / "
     << to_ms(r.latency.max());
  out << "actorsync-load report: " << r.workload << '\n';
  line("realms / sessions", std::to_string(r.realms) + " / " + std::to_string(r.sessions));
  line("multiplexing", r.multiplexing ? "on" : "off");
  if (!r.server_fsync) line("server fsync", "OFF (not durable)");
  line("duration (s)", format_number(r.duration_s));
  line("bind + catch up all (s)", format_number(r.bind_all_s));
  line("writes acked / committed",
       std::to_string(r.writes_acked) + " / " + std::to_string(r.writes_committed));
  line("writes/s", format_number(r.writes_per_s));
  line("MB/s", format_number(r.mb_per_s));
  line("latency ms p50/p90/p99/max", ms.str());
  line("client RSS per session (B)", std::to_string(r.client_rss_bytes_per_session));
  line("server RSS per session (B)", std::to_string(r.server_rss_bytes_per_session));
  if (r.workload == "idle")
    line("measured after memory release", r.measured_after_memory_release ? "yes" : "no");
  line("sockets", std::to_string(r.sockets));
  if (r.cluster_nodes > 0) line("embedded cluster", std::to_string(r.cluster_nodes) + " nodes");
  for (const auto& s : r.servers) line(server_name(s), server_figures(s));
  if (!r.processes.empty()) line("CPU s during the workload", cpu_text(r.processes));
  for (const auto& m : r.server_memory) {
    line("server RSS " + memory_series_name(m), memory_summary_text(m));
    for (const auto& s : memory_table_rows(m))
      line("  at " + format_seconds(s.elapsed_s), format_bytes(s.rss_bytes));
  }
  line("progress / connection events",
       std::to_string(r.progress_events) + " / " + std::to_string(r.connection_events));
  line("errors", std::to_string(r.errors));
  for (const auto& e : r.error_samples) line("  error", e);
  line("transient errors", std::to_string(r.transient_errors));
  for (const auto& e : r.transient_error_samples) line("  transient", e);
  if (r.workload == "reset")
    line("client resets",
         std::to_string(r.client_resets) + " in " + format_number(r.reset_s) + " s");
  line("converged", r.convergence_checked ? (r.converged ? "yes" : "NO") : "not checked");
  if (r.stopped_at_max_duration) line("stopped at --max-duration", "yes (then settled)");
  if (r.verified) {
    line("verified by a fresh replica", std::to_string(r.verify_missing) +
                                            " acknowledged missing, " +
                                            std::to_string(r.verify_unexpected) + " unexpected");
  }
  line("result", r.passed() ? "PASSED" : "FAILED");
}

}  // namespace actorsync::load
