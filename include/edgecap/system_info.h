#pragma once
// Facts about this process and machine, read from /proc, for reports and soak checks.
#include <cstdint>
#include <string>

namespace edgecap {

struct ProcessMemory {
  double rss_mb = 0;       // VmRSS
  double peak_rss_mb = 0;  // VmHWM
};
ProcessMemory process_memory();
int open_file_descriptors();  // entries in /proc/self/fd
int thread_count();           // Threads: in /proc/self/status
std::string cpu_model();      // "model name" of /proc/cpuinfo
int logical_cores();
int physical_cores();
// Full path of the BLAS this process has mapped (from /proc/self/maps), e.g.
// "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" (the folder names Debian's alternative);
// "" when no BLAS is loaded yet (LibTorch maps it when the first model loads).
std::string blas_library();
// OpenBLAS's own thread pool (separate from LibTorch's intra-op threads): its size, or -1 when the BLAS in
// this process is not OpenBLAS; set_blas_threads returns false there.
int blas_threads();
bool set_blas_threads(int threads);
// $DISPLAY is set and an X connection opens (libX11 is dlopen'ed, not linked; without it, the local X
// socket must exist). False on a headless box: the app falls back to the terminal.
bool display_available();
std::string human_bytes(uint64_t bytes);  // decimal units: "999 B", "1.5 KB", "12.3 MB"

}  // namespace edgecap
