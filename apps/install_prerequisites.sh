#!/usr/bin/env bash
# Installs what building and testing tinyq needs, on Debian or Ubuntu, and
# only what is missing: a C++20 compiler, meson, ninja, pkg-config (the test
# of tinyq as an installed library uses it) and doctest. Extra Debian package
# names may be passed as arguments. Uses sudo when not root.
set -euo pipefail

packages=(g++ meson ninja-build pkg-config doctest-dev "$@")
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${missing[*]} and no apt-get here: install them with your package manager" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "error: missing ${missing[*]}: run as root or install sudo" >&2
    exit 1
  }
  sudo=(sudo)
fi
echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
