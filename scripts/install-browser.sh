#!/usr/bin/env bash
# The report test renders the HTML report in headless Chromium: install Debian's chromium package when it
# is missing (needs root and apt, as on the CI image). Already present: nothing to do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing and cannot be installed here (needs root and apt-get): install it, e.g. apt-get install chromium" >&2
  exit 1
fi
echo "installing chromium (Debian package) for the report test..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
