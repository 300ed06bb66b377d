#include "tools/load/load_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <sstream>

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

// A bar chart as inline SVG: one bar per value, labels under the first and last bars.
std::string svg_bars(const std::vector<double>& values, const std::string& first_label,
                     const std::string& last_label, const std::string& caption) {
  constexpr double width = 720, height = 220, margin = 30;
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='"
      << height + 2 * margin << "'>";
  svg << "<text x='" << margin << "' y='16' font-size='13'>" << escape_html(caption) << "</text>";
  const double peak =
      values.empty() ? 1 : std::max(1e-9, *std::max_element(values.begin(), values.end()));
  const double bar_width =
      values.empty() ? 0 : (width - 2 * margin) / static_cast<double>(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double h = values[i] / peak * height;
    svg << "<rect x='" << margin + bar_width * static_cast<double>(i) << "' y='"
        << margin + height - h << "' width='" << std::max(1.0, bar_width - 1) << "' height='" << h
        << "' fill='#3b7dd8'/>";
  }
  svg << "<text x='" << margin << "' y='" << height + margin + 16 << "' font-size='11'>"
      << escape_html(first_label) << "</text>";
  svg << "<text x='" << width - margin << "' y='" << height + margin + 16
      << "' font-size='11' text-anchor='end'>" << escape_html(last_label) << "</text>";
  svg << "</svg>";
  return svg.str();
}

std::string format_us(std::uint64_t us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f ms", static_cast<double>(us) / 1000.0);
  return text;
}

}  // namespace

bool load_report::passed() const {
  const bool all_acked = writes_acked == writes_committed;
  return errors == 0 && all_acked && !interrupted && (!convergence_checked || converged);
}

std::string to_json(const load_report& r) {
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& p : r.timeline) {
    timeline.push_back({{"elapsed_s", p.elapsed_s},
                        {"writes_acked", p.writes_acked},
                        {"sessions_bound", p.sessions_bound}});
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
      {"client_rss_bytes_per_session", r.client_rss_bytes_per_session},
      {"server_rss_bytes_per_session", r.server_rss_bytes_per_session},
      {"client_rss_base_bytes", r.client_rss_base_bytes},
      {"sockets", r.sockets},
      {"cpu_idle_percent", r.cpu_idle_percent},
      {"measured_after_memory_release", r.measured_after_memory_release},
      {"memory_releases", r.memory_releases},
      {"progress_events", r.progress_events},
      {"connection_events", r.connection_events},
      {"errors", r.errors},
      {"error_samples", r.error_samples},
      {"converged", r.converged},
      {"convergence_checked", r.convergence_checked},
      {"interrupted", r.interrupted},
      {"passed", r.passed()},
      {"timeline", timeline},
  };
  return j.dump(2);
}

std::string to_html(const load_report& r) {
  std::vector<double> counts;
  const auto buckets = r.latency.buckets();
  for (const auto& b : buckets) counts.push_back(static_cast<double>(b.count));
  std::vector<double> rates;
  for (std::size_t i = 1; i < r.timeline.size(); ++i) {
    const auto dt = r.timeline[i].elapsed_s - r.timeline[i - 1].elapsed_s;
    const auto dw =
        static_cast<double>(r.timeline[i].writes_acked - r.timeline[i - 1].writes_acked);
    rates.push_back(dt > 0 ? dw / dt : 0);
  }
  std::ostringstream html;
  html << "<!doctype html><html><head><meta charset='utf-8'><title>actorsync-load "
       << escape_html(r.workload) << "</title><style>body{font-family:sans-serif;margin:2em}"
       << "td,th{padding:2px 10px;text-align:left}</style></head><body>";
  html << "<h1>actorsync-load: " << escape_html(r.workload) << "</h1><table>";
  auto row = [&html](const std::string& k, const std::string& v) {
    html << "<tr><th>" << escape_html(k) << "</th><td>" << escape_html(v) << "</td></tr>";
  };
  row("realms", std::to_string(r.realms));
  row("writes acknowledged",
      std::to_string(r.writes_acked) + " / " + std::to_string(r.writes_committed));
  row("writes/s", std::to_string(r.writes_per_s));
  row("latency p50 / p99 / max (ms)", std::to_string(to_ms(r.latency.percentile(0.5))) + " / " +
                                          std::to_string(to_ms(r.latency.percentile(0.99))) +
                                          " / " + std::to_string(to_ms(r.latency.max())));
  row("sockets", std::to_string(r.sockets));
  row("errors", std::to_string(r.errors));
  row("converged", r.convergence_checked ? (r.converged ? "yes" : "NO") : "not checked");
  row("result", r.passed() ? "passed" : "FAILED");
  html << "</table><h2>Latency histogram</h2>";
  html << svg_bars(counts, buckets.empty() ? "" : format_us(buckets.front().lower_us),
                   buckets.empty() ? "" : format_us(buckets.back().upper_us),
                   "samples per latency bucket (log-linear buckets)");
  html << "<h2>Throughput over time</h2>";
  html << svg_bars(rates, "0 s", std::to_string(static_cast<int>(r.duration_s)) + " s",
                   "acknowledged writes per second");
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
  line("duration (s)", std::to_string(r.duration_s));
  line("bind + catch up all (s)", std::to_string(r.bind_all_s));
  line("writes acked / committed",
       std::to_string(r.writes_acked) + " / " + std::to_string(r.writes_committed));
  line("writes/s", std::to_string(r.writes_per_s));
  line("MB/s", std::to_string(r.mb_per_s));
  line("latency ms p50/p90/p99/max", ms.str());
  line("client RSS per session (B)", std::to_string(r.client_rss_bytes_per_session));
  line("server RSS per session (B)", std::to_string(r.server_rss_bytes_per_session));
  if (r.workload == "idle")
    line("measured after memory release", r.measured_after_memory_release ? "yes" : "no");
  line("sockets", std::to_string(r.sockets));
  line("progress / connection events",
       std::to_string(r.progress_events) + " / " + std::to_string(r.connection_events));
  line("errors", std::to_string(r.errors));
  for (const auto& e : r.error_samples) line("  error", e);
  line("converged", r.convergence_checked ? (r.converged ? "yes" : "NO") : "not checked");
  line("result", r.passed() ? "PASSED" : "FAILED");
}

}  // namespace actorsync::load
