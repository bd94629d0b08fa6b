// The bench chart: one scatter a person reads at a glance (left = faster, up = better, bigger = larger file).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "edgecap/bench_report.h"
#include "edgecap/error.h"

namespace edgecap {
namespace {

const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);
const int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Colour per precision (BGR), so the same precision reads the same across models.
cv::Scalar precision_colour(const std::string& p) {
  if (p == "fp32") return {180, 110, 30};  // blue
  if (p == "int8") return {40, 140, 240};  // orange
  if (p == "bf16") return {60, 160, 60};   // green
  if (p == "fp16") return {160, 60, 160};  // purple
  return {120, 120, 120};
}

// "Nice" tick step (1, 2 or 5 x 10^k) for about `target` ticks over `span`.
double nice_step(double span, int target) {
  double raw = span / std::max(target, 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double step = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return step * mag;
}

std::string tick_text(double v, double step) {
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return fmt::format("{:.{}f}", v, decimals);
}

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.5, cv::Scalar colour = kInk,
          int thickness = 1) {
  cv::putText(img, s, at, kFont, scale, colour, thickness, cv::LINE_AA);
}
cv::Size text_size(const std::string& s, double scale = 0.5, int thickness = 1) {
  int base = 0;
  return cv::getTextSize(s, kFont, scale, thickness, &base);
}

void vertical_text(cv::Mat& img, const std::string& s, cv::Point centre, double scale) {
  cv::Size size = text_size(s, scale);
  cv::Mat strip(size.height + 10, size.width + 4, img.type(), cv::Scalar(255, 255, 255));
  text(strip, s, {2, size.height + 3}, scale);
  cv::Mat rotated;
  cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  int x = centre.x - rotated.cols / 2, y = centre.y - rotated.rows / 2;
  cv::Rect roi(x, y, rotated.cols, rotated.rows);
  roi &= cv::Rect(0, 0, img.cols, img.rows);
  rotated(cv::Rect(roi.x - x, roi.y - y, roi.width, roi.height)).copyTo(img(roi));
}

}  // namespace

cv::Mat draw_chart(const BenchResult& result, int width, int height) {
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const bool refs = result.env.has_references;
  struct Point {
    std::string label, precision;
    double x, y;
    uint64_t bytes;
  };
  std::vector<Point> points;
  for (const auto& v : result.variants) {
    if (!v.available || v.failed) continue;
    auto q = headline_quality(v, refs);
    points.push_back({variant_label(v), v.precision, v.latency.median, q ? *q * 100.0 : -1.0, v.file_bytes});
  }

  const std::string title = "edgecap bench: latency vs " + headline_quality_name(refs);
  text(img, title, {20, 30}, 0.7, kInk, 2);
  text(img,
       fmt::format("{} | {} threads | {} images x {} iterations | {}", result.env.cpu_model,
                   result.env.intra_op_threads, result.env.image_count, result.env.iterations,
                   result.env.date_utc),
       {20, 52}, 0.42, {90, 90, 90});

  const int left = 90, right = width - 230, top = 75, bottom = height - 70;
  cv::Rect plot(left, top, right - left, bottom - top);
  if (points.empty()) {
    text(img, "no variant could be measured", {left + 20, top + 40}, 0.7);
    return img;
  }

  double xmax = 0;
  for (const auto& p : points) xmax = std::max(xmax, p.x);
  xmax = xmax > 0 ? xmax * 1.15 : 1.0;
  double xstep = nice_step(xmax, 6);
  xmax = std::ceil(xmax / xstep) * xstep;
  // Quality: fixed 0..100 % so charts of different runs compare by eye.
  const double ymin = -6, ymax = 105, ystep = 20;  // below 0: room for markers at 0 %

  auto to_px = [&](double x, double y) {
    double fx = x / xmax, fy = (std::max(y, 0.0) - ymin) / (ymax - ymin);  // n/a quality sits at 0
    return cv::Point(left + static_cast<int>(fx * plot.width), bottom - static_cast<int>(fy * plot.height));
  };

  for (double x = 0; x <= xmax + 1e-9; x += xstep) {
    cv::Point p = to_px(x, 0);
    cv::line(img, {p.x, top}, {p.x, bottom}, kGrid, 1);
    cv::line(img, {p.x, bottom}, {p.x, bottom + 6}, kInk, 1);
    std::string t = tick_text(x, xstep);
    text(img, t, {p.x - text_size(t, 0.45).width / 2, bottom + 22}, 0.45);
  }
  for (double y = 0; y <= 100 + 1e-9; y += ystep) {
    cv::Point p = to_px(0, y);
    cv::line(img, {left, p.y}, {right, p.y}, kGrid, 1);
    cv::line(img, {left - 6, p.y}, {left, p.y}, kInk, 1);
    std::string t = tick_text(y, ystep);
    text(img, t, {left - 12 - text_size(t, 0.45).width, p.y + 5}, 0.45);
  }
  cv::rectangle(img, plot, kInk, 1);
  const std::string xlabel = "median model latency per caption (ms)  - lower is better";
  text(img, xlabel, {left + plot.width / 2 - text_size(xlabel).width / 2, bottom + 50});
  vertical_text(img, headline_quality_name(refs) + " (%)  - higher is better", {28, top + plot.height / 2},
                0.5);

  // Marker area proportional to file size: radius ~ sqrt(bytes), largest file = kMaxRadius.
  const double kMaxRadius = 28, kMinRadius = 4;
  uint64_t max_bytes = 1;
  for (const auto& p : points) max_bytes = std::max(max_bytes, p.bytes);
  auto radius = [&](uint64_t bytes) {
    return std::max(kMinRadius, kMaxRadius * std::sqrt(double(bytes) / double(max_bytes)));
  };
  std::vector<cv::Rect> markers;
  for (const auto& p : points) {
    cv::Point c = to_px(p.x, p.y);
    int r = static_cast<int>(radius(p.bytes));
    markers.emplace_back(c.x - r, c.y - r, 2 * r, 2 * r);
    cv::Mat overlay = img.clone();
    cv::circle(overlay, c, r, precision_colour(p.precision), cv::FILLED, cv::LINE_AA);
    cv::addWeighted(overlay, 0.55, img, 0.45, 0, img);
    cv::circle(img, c, r, precision_colour(p.precision), 2, cv::LINE_AA);
    cv::circle(img, c, 2, kInk, cv::FILLED);
  }
  // Labels go where they cover no marker and no other label: beside, above or below the marker, then
  // further out with a leader line. Drawn after every marker so no marker hides a label.
  std::vector<cv::Rect> labels;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    cv::Point c = to_px(p.x, p.y);
    int r = markers[i].width / 2;
    std::string label = p.y < 0 ? p.label + " (quality n/a)" : p.label;
    cv::Size ts = text_size(label, 0.45);
    const int h = ts.height + 6, w = ts.width + 6;
    std::vector<cv::Rect> candidates = {{c.x + r + 4, c.y - h / 2, w, h},
                                        {c.x - r - 4 - w, c.y - h / 2, w, h},
                                        {c.x - w / 2, c.y - r - 4 - h, w, h},
                                        {c.x - w / 2, c.y + r + 4, w, h}};
    for (int k = 1; k <= 8; ++k) {
      candidates.push_back({c.x + r + 4, c.y - r - 4 - k * h, w, h});
      candidates.push_back({c.x + r + 4, c.y + r + 4 + (k - 1) * h, w, h});
      candidates.push_back({c.x - r - 4 - w, c.y - r - 4 - k * h, w, h});
    }
    auto free = [&](const cv::Rect& box) {
      if ((box & plot) != box) return false;
      for (const auto& m : markers) {
        if ((m & box).area() > 0) return false;
      }
      for (const auto& l : labels) {
        if ((l & box).area() > 0) return false;
      }
      return true;
    };
    cv::Rect box = candidates.front();
    bool placed = false;
    for (const auto& candidate : candidates) {
      if (free(candidate)) {
        box = candidate;
        placed = true;
        break;
      }
    }
    labels.push_back(box);
    if (placed && std::abs(box.y + h / 2 - c.y) > r + h) {
      cv::Point anchor(box.x < c.x ? box.x + box.width : box.x, box.y + h / 2);
      cv::line(img, c, anchor, {150, 150, 150}, 1, cv::LINE_AA);
    }
    cv::rectangle(img, box, cv::Scalar(255, 255, 255), cv::FILLED);
    text(img, label, {box.x + 3, box.y + h - 4}, 0.45);
  }

  // Legend: precision colours and what marker size means.
  int lx = right + 20, ly = top + 10;
  text(img, "precision", {lx, ly}, 0.5, kInk, 1);
  for (const char* p : {"fp32", "bf16", "fp16", "int8"}) {
    if (std::none_of(points.begin(), points.end(), [&](const Point& q) { return q.precision == p; }))
      continue;
    ly += 24;
    cv::circle(img, {lx + 8, ly - 5}, 7, precision_colour(p), cv::FILLED, cv::LINE_AA);
    std::string name = p;
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    text(img, name, {lx + 24, ly}, 0.45);
  }
  ly += 40;
  text(img, "marker area = file size", {lx, ly}, 0.45);
  for (double share : {1.0, 0.25}) {
    ly += static_cast<int>(kMaxRadius * std::sqrt(share)) + 16;
    int r = static_cast<int>(kMaxRadius * std::sqrt(share));
    cv::circle(img, {lx + 30, ly}, r, {150, 150, 150}, 1, cv::LINE_AA);
    uint64_t bytes = static_cast<uint64_t>(double(max_bytes) * share);
    text(img, fmt::format("{:.2f} MB", bytes / 1e6), {lx + 64, ly + 5}, 0.45);
    ly += r;
  }
  return img;
}

std::vector<std::string> write_reports(const BenchResult& result, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw BenchError(
        fmt::format("cannot create report folder {}: {}; pick another --out", dir, ec.message()));
  std::vector<std::string> paths;
  auto write_text = [&](const std::string& name, const std::string& content) {
    std::string path = (fs::path(dir) / name).string();
    std::ofstream f(path, std::ios::binary);
    f << content;
    f.close();
    if (!f)
      throw BenchError(fmt::format("cannot write {}; check the folder is writable and has space", path));
    paths.push_back(path);
  };
  write_text("bench.md", format_markdown(result) + "\n![chart](bench.png)\n");
  write_text("bench.json", format_json(result));
  write_text("bench.csv", format_csv(result));
  std::string png = (fs::path(dir) / "bench.png").string();
  bool ok = false;
  try {
    ok = cv::imwrite(png, draw_chart(result));
  } catch (const cv::Exception& e) {
    throw BenchError(fmt::format("cannot write {}: {}", png, e.what()));
  }
  if (!ok) throw BenchError(fmt::format("cannot write {}; check the folder is writable", png));
  paths.push_back(png);
  return paths;
}

}  // namespace edgecap
