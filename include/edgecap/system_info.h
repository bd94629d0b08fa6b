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
std::string blas_library();   // the BLAS/LAPACK shared object this process mapped (from /proc/self/maps)
bool display_available();     // $DISPLAY set and an X connection opens
std::string human_bytes(uint64_t bytes);            // "12.3 MB"

}  // namespace edgecap
