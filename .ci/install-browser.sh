#!/usr/bin/env bash
# Install Debian's Chromium and its ChromeDriver (same source package, same version) for
# tests/workflow/test_report_browser.py, which opens the tiny sweep's results/report.html in a real
# headless browser and clicks through it with Selenium.
#
# Idempotent: nothing happens when both are already on PATH. Needs root (or passwordless sudo)
# for apt-get; otherwise it prints a note and the browser test skips, saying why.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "install-browser: present: $(chromium --version 2>/dev/null); $(chromedriver --version)"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-browser: not root and no passwordless sudo: chromium not installed;" \
         "tests/workflow/test_report_browser.py will skip"
    exit 0
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "install-browser: no apt-get: install chromium yourself; tests/workflow/test_report_browser.py will skip"
  exit 0
fi
echo "install-browser: installing chromium and chromium-driver"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core \
  >/dev/null
echo "install-browser: $(chromium --version 2>/dev/null); $(chromedriver --version)"
