#!/usr/bin/env bash
# Install the Debian packages the numperf BLAS backends need (see
# scripts/numperf/backends.py and .ci/BACKENDS_NOTES.md).
#
# Idempotent: if every package is already installed, apt is not touched.
# Every backend selects its own BLAS/LAPACK per child process through
# LD_LIBRARY_PATH, so the system-wide libblas.so.3 / liblapack.so.3
# alternative is irrelevant to numperf.  After this script it is left at
# Debian's automatic choice (highest priority: openblas-pthread); the script
# prints it at the end so CI logs show it.
#
# Optional: NUMPERF_INSTALL_MKL=1 also pip-installs the (~1 GB) `mkl` wheel
# into the venv for the opt-in `mkl` backend.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  python3                 # /usr/bin/python3 (3.11 on bookworm)
  python3-numpy           # numpy 1.24, linked against libblas.so.3/liblapack.so.3
  python3-threadpoolctl   # threadpool_info() inside Debian-python children
  python3-psutil
  libblas3                # netlib reference BLAS
  liblapack3              # netlib reference LAPACK
  libopenblas0-pthread    # OpenBLAS 0.3.21, pthreads
  libatlas3-base          # ATLAS
  libblis4-pthread        # BLIS 0.9.0, pthreads
  libgomp1                # GNU OpenMP (MKL threading layer GNU)
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "install-backends: installing ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-backends: all Debian BLAS packages present"
fi

if [[ "${NUMPERF_INSTALL_MKL:-0}" == "1" ]]; then
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  py="${here}/.venv/bin/python"
  [[ -x "$py" ]] || py=python3
  if ! "$py" -c 'import importlib.metadata as m; m.version("mkl")' 2>/dev/null; then
    echo "install-backends: pip install mkl (opt-in, large)"
    "$py" -m pip install -q mkl
  fi
fi

# Report (not change) the system default; numperf never relies on it.
for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  cur=$(update-alternatives --query "$alt" 2>/dev/null | awk '/^Value:/ {print $2}')
  echo "install-backends: ${alt} -> ${cur:-<none>}"
done
