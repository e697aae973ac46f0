#!/usr/bin/env bash
# tinyq as a library, used from outside its tree in the two ways README shows.
# Copies tests/consumer (a small meson project whose main.cpp builds an MLP,
# quantizes it and checks the outputs) to a temporary folder and builds it:
#   1. installed: `meson install` of this build into a staging folder
#      (DESTDIR), then the consumer finds tinyq.pc with pkg-config, which
#      PKG_CONFIG_SYSROOT_DIR points into the staging folder;
#   2. subproject: subprojects/tinyq is a link to this source tree; meson
#      builds tinyq's library (and nothing else: no apps, no tests) with it.
#      Skipped in sanitizer builds (b_sanitize set): it does not use this
#      build, and CI's plain build runs it.
# It also checks that the installed headers are exactly the modules' .hpp
# files and that all of them compile with nothing but the installed tree.
#
# Usage: test_consumer.sh SOURCE_ROOT BUILD_ROOT B_SANITIZE B_LUNDEF
# $CXX is this build's compiler: the installed library is linked by the same
# compiler, with the same sanitizers, as it was built with.
set -euo pipefail

source_root=$1 build_root=$2 sanitize=$3 lundef=$4
cxx=${CXX:-c++}
modules=(core data nn quant)

if ! command -v pkg-config >/dev/null 2>&1; then
  echo "FAIL: pkg-config not found (bash apps/install_prerequisites.sh installs it)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# Runs the consumer built in folder $1 and checks what it prints ($2 names
# the way it was built, for messages).
check_consumer() {
  local build=$1 how=$2 out=$work/out-$2
  if ! "$build/tinyq_consumer" >"$out" 2>&1; then
    cat "$out"
    fail "$how: tinyq_consumer exited with an error"
    return
  fi
  cat "$out"
  grep -q '^quantized: QuantizedDense(20 -> 24, asymmetric/channel/8-bit) -> ReLU' "$out" ||
    fail "$how: the quantized model is not the expected QuantizedDense -> ReLU -> ..."
  [ "$(tail -n 1 "$out")" = ok ] || fail "$how: tinyq_consumer did not end with 'ok'"
}

echo "=== 1. installed: meson install into a staging folder, found by pkg-config"
stage=$work/stage
meson install -C "$build_root" --no-rebuild --destdir "$stage" --quiet
pc=$(find "$stage" -path '*/pkgconfig/tinyq.pc' | head -n 1)
include=$(find "$stage" -type d -path '*/include/tinyq' | head -n 1)
if [ -z "$pc" ] || [ -z "$include" ]; then
  find "$stage" -type f -not -name '*.hpp'
  echo "FAIL: meson install put no pkgconfig/tinyq.pc or no include/tinyq folder" >&2
  exit 1
fi
pkg_config=(env PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage")
echo "tinyq.pc: version $("${pkg_config[@]}" pkg-config --modversion tinyq)," \
  "flags: $("${pkg_config[@]}" pkg-config --cflags --libs tinyq)"

# Installed headers = the modules' headers, no more, no less.
if ! diff <(cd "$source_root" && find "${modules[@]}" -name '*.hpp' | sort) \
  <(cd "$include" && find . -type f | sed 's|^\./||' | sort) >"$work/headers.diff"; then
  cat "$work/headers.diff"
  fail "the installed headers differ from the modules' (<: only in the source, >: only installed)"
fi
# Every installed header compiles from the installed tree alone (one
# translation unit outside the source tree including all of them).
(cd "$include" && find . -name '*.hpp' | sort | sed 's|^\./\(.*\)|#include "\1"|') \
  >"$work/all_headers.cpp"
# shellcheck disable=SC2046 # the compiler command and the flags are word lists
if ! $cxx -std=c++20 $("${pkg_config[@]}" pkg-config --cflags tinyq) -fsyntax-only \
  "$work/all_headers.cpp"; then
  fail "the installed headers do not compile on their own"
fi

cp -r "$source_root/tests/consumer" "$work/consumer"
if "${pkg_config[@]}" CXX="$cxx" meson setup "$work/build-installed" "$work/consumer" \
  --wrap-mode=nofallback -Db_sanitize="$sanitize" -Db_lundef="$lundef" >"$work/setup.log" &&
  meson compile -C "$work/build-installed"; then
  check_consumer "$work/build-installed" installed
else
  cat "$work/setup.log"
  fail "installed: the consumer did not build against the installed tinyq"
fi

echo "=== 2. subproject: subprojects/tinyq links to the source tree"
if [ "$sanitize" != none ]; then
  # Part 2 builds tinyq afresh, without this build's options, so a sanitizer
  # build would only repeat what the plain build's run of this test checks.
  echo "skipped in a sanitizer build: it does not depend on this build's options"
else
  # --buildtype=plain (no optimization) compiles quickest: this checks how the
  # build fits together, the speed of the result does not matter.
  cp -r "$source_root/tests/consumer" "$work/with-subproject"
  mkdir "$work/with-subproject/subprojects"
  ln -s "$source_root" "$work/with-subproject/subprojects/tinyq"
  if CXX="$cxx" meson setup "$work/build-subproject" "$work/with-subproject" \
    --force-fallback-for=tinyq --buildtype=plain >"$work/setup.log" &&
    meson compile -C "$work/build-subproject"; then
    check_consumer "$work/build-subproject" subproject
  else
    cat "$work/setup.log"
    fail "subproject: the consumer did not build with tinyq as a subproject"
  fi
  # Only the library: tinyq's programs and tests stay out of other projects' builds.
  for folder in apps tests; do
    if [ -d "$work/build-subproject/subprojects/tinyq/$folder" ]; then
      fail "subproject: the build holds tinyq's $folder (meson.is_subproject() should skip them)"
    fi
  done
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
