#include "edgecap/system_info.h"

#include <dirent.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace edgecap {
namespace {
// The value after "Key:" in a /proc "Key: value" file, or "" when the key is absent.
std::string proc_field(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const auto colon = line.find(':', key.size());
    if (colon == std::string::npos) continue;
    // "model name\t: ..." has tabs between the key and the colon; only whitespace may sit there.
    if (line.find_first_not_of(" \t", key.size()) != colon) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? std::string() : line.substr(start);
  }
  return {};
}

double kb_field_mb(const char* path, const std::string& key) {
  const std::string value = proc_field(path, key);  // "12345 kB"
  return value.empty() ? 0.0 : std::strtod(value.c_str(), nullptr) / 1024.0;
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct DlCloser {
  void operator()(void* handle) const {
    if (handle) dlclose(handle);
  }
};

// Without libX11 we can still tell whether the local X server's socket exists (":0" -> /tmp/.X11-unix/X0).
bool x_socket_exists(const std::string& display) {
  if (display.empty() || display[0] != ':') return true;  // a remote display: cannot check cheaply
  const std::string number = display.substr(1, display.find('.') - 1);
  return access(("/tmp/.X11-unix/X" + number).c_str(), F_OK) == 0;
}
}  // namespace

ProcessMemory process_memory() {
  ProcessMemory memory;
  memory.rss_mb = kb_field_mb("/proc/self/status", "VmRSS");
  memory.peak_rss_mb = kb_field_mb("/proc/self/status", "VmHWM");
  return memory;
}

int open_file_descriptors() {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/fd"), &closedir);
  if (!dir) return -1;
  int count = 0;
  while (const dirent* entry = readdir(dir.get())) {
    if (entry->d_name[0] != '.') ++count;
  }
  return count - 1;  // the descriptor opendir itself holds
}

int thread_count() {
  const std::string value = proc_field("/proc/self/status", "Threads");
  return value.empty() ? 0 : std::atoi(value.c_str());
}

std::string cpu_model() {
  std::string model = proc_field("/proc/cpuinfo", "model name");
  if (model.empty()) model = proc_field("/proc/cpuinfo", "Model");  // ARM boards (Jetson, Raspberry Pi)
  return model.empty() ? "unknown CPU" : model;
}

int logical_cores() {
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online > 0) return int(online);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? int(hw) : 1;
}

int physical_cores() {
  // A core is a distinct (physical id, core id) pair; hyper-threads share one.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, physical_id = "0", core_id;
  auto value_of = [](const std::string& l) {
    const auto colon = l.find(':');
    const auto start = colon == std::string::npos ? std::string::npos : l.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? std::string() : l.substr(start);
  };
  while (std::getline(in, line)) {
    if (line.rfind("physical id", 0) == 0) physical_id = value_of(line);
    if (line.rfind("core id", 0) == 0) core_id = value_of(line);
    if (line.empty() && !core_id.empty()) {
      cores.emplace(physical_id, core_id);
      core_id.clear();
    }
  }
  if (!core_id.empty()) cores.emplace(physical_id, core_id);
  return cores.empty() ? logical_cores() : int(cores.size());
}

std::string blas_library() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = base_name(path);
    for (const char* prefix : {"libopenblas", "libmkl_rt", "libmkl_core", "libblis", "libblas", "libcblas"}) {
      // The directory tells Debian's alternatives apart (.../openblas-pthread/libblas.so.3 vs .../blas/).
      if (name.rfind(prefix, 0) == 0) return path;
    }
  }
  return {};
}

// OpenBLAS's thread controls, looked up in the process (LibTorch brings the BLAS in; edgecap does not link
// it directly, so another BLAS simply lacks them).
int blas_threads() {
  using Get = int (*)();
  auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : -1;
}

bool set_blas_threads(int threads) {
  using Set = void (*)(int);
  auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!set || threads < 1) return false;
  set(threads);
  return true;
}

bool display_available() {
  const char* display = std::getenv("DISPLAY");
  if (!display || !*display) return false;
  std::unique_ptr<void, DlCloser> x11(dlopen("libX11.so.6", RTLD_LAZY | RTLD_LOCAL));
  if (!x11) return x_socket_exists(display);
  using OpenDisplay = void* (*)(const char*);
  using CloseDisplay = int (*)(void*);
  auto open_display = reinterpret_cast<OpenDisplay>(dlsym(x11.get(), "XOpenDisplay"));
  auto close_display = reinterpret_cast<CloseDisplay>(dlsym(x11.get(), "XCloseDisplay"));
  if (!open_display || !close_display) return x_socket_exists(display);
  void* connection = open_display(display);
  if (!connection) return false;
  close_display(connection);
  return true;
}

std::string human_bytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1000.0 && unit < 4) {
    value /= 1000.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace edgecap
