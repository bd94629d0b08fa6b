#!/usr/bin/env bash
# Installs everything edgecap needs to build, run and test on Debian 12 (bookworm), from Debian's archive only.
# Idempotent; run as root or with sudo available.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # inference: LibTorch 1.13.1 (CPU) and the same build for the Python tools
  libtorch-dev python3-torch python3-numpy python3-pil python3-pytest
  # the Python reference pipeline reads frames with OpenCV, as the seed program does (tools/compare_python.py)
  python3-opencv
  # BLAS: OpenBLAS (pthread build) instead of the slow reference BLAS; see docs/BENCHMARKS.md
  libopenblas0-pthread
  # frames, window, images
  libopencv-dev
  # speech
  libespeak-ng-dev espeak-ng-data libsdl2-mixer-dev
  # formatting, metadata
  libfmt-dev nlohmann-json3-dev
  # tests and microbenchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # end-to-end tests: a display, a terminal, audio analysis, screenshots
  xvfb xauth x11-utils tmux sox imagemagick
  # libFuzzer targets (scripts/fuzz.sh): clang and its sanitizer/fuzzer runtimes
  clang libclang-rt-14-dev
  # training-data sources (tools/datagen; the same apt list as tools/install_data_sources.sh, which also
  # fetches optional npm emoji styles): the python tests render scenes and train a smoke model from them
  fonts-noto-color-emoji unicode-data tuxpaint-stamps-default sweethome3d-furniture mate-backgrounds
  tuxpaint-data librsvg2-bin openclipart-svg gcompris-qt-data scratch pysiogame
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
echo "install_deps: installing ${#missing[@]} packages: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
