#!/usr/bin/env bash
# Quick start, command 2: build tinyq and run the whole test suite.
#   bash apps/test.sh            (from the repository's top folder)
# Installs missing prerequisites first (with sudo when not root).
set -euo pipefail
cd "$(dirname "$0")/.."

bash apps/install_prerequisites.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release
meson compile -C build
meson test -C build --print-errorlogs
