#!/usr/bin/env bash
# Offline test of apps/fetch_mnist.sh: mirrors are local file:// folders of
# small fake files, so nothing here needs the network.
# Usage: test_fetch_mnist.sh PATH/TO/fetch_mnist.sh
set -euo pipefail

script=$1
if ! command -v curl >/dev/null 2>&1; then
  echo "SKIP: curl is needed for file:// mirrors"
  exit 77 # meson's "skipped"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
  t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# A mirror folder holding fake files whose content depends on $2.
make_mirror() {
  mkdir -p "$1"
  for f in "${files[@]}"; do printf 'fake %s %s\n' "$2" "$f" >"$1/$f"; done
}

# Runs the script with the given mirrors into $2; output in $work/out.
run() {
  local mirrors=$1 dest=$2
  shift 2
  set +e
  env TINYQ_MNIST_MIRRORS="$mirrors" "$@" bash "$script" "$dest" >"$work/out" 2>&1
  status=$?
  set -e
}

expect_status() {
  if [[ $status != "$1" ]]; then
    fail "$2: exit status $status, expected $1"
    cat "$work/out" >&2
  fi
}

expect_output() {
  grep -q -- "$1" "$work/out" || fail "$2: output lacks '$1'"
}

expect_no_files() {
  if [[ -n $(ls -A "$1" 2>/dev/null) ]]; then fail "$2: $1 is not empty: $(ls -A "$1")"; fi
}

good=$work/good
bad=$work/bad
make_mirror "$good" good
make_mirror "$bad" bad
sums=$work/sums # "valid" checksums of the good fake files, for test mode only
(cd "$good" && sha256sum "${files[@]}") >"$sums"
test_mode=(TINYQ_MNIST_SHA256SUMS_FOR_TESTS="$sums")

# 1. Unreachable mirrors: non-zero exit, a message about being offline that
#    points to the Debian package, nothing left in the folder, and each
#    mirror tried once rather than once per file.
run "file://$work/missing/ file://$work/also-missing/" "$work/d1"
expect_status 1 "offline"
expect_output "probably offline" "offline"
expect_output "apt-get install dataset-fashion-mnist" "offline"
expect_output "train_mnist --data /usr/share/datasets/fashion-mnist" "offline"
expect_no_files "$work/d1" "offline"
if [[ $(grep -c "could not download from" "$work/out") != 2 ]]; then
  fail "offline: a mirror that failed was tried again for another file"
fi

# 2. A mirror serving files with the wrong (here: real published) checksums:
#    each file is rejected and not stored.
run "file://$bad/" "$work/d2"
expect_status 1 "bad checksum"
expect_output "checksum mismatch" "bad checksum"
expect_no_files "$work/d2" "bad checksum"

# 3. Mirrors are tried in order: after a bad one, a good one provides the files.
#    (The last one is given without its trailing '/'.)
run "file://$work/missing/ file://$bad/ file://$good" "$work/d3" "${test_mode[@]}"
expect_status 0 "fallback"
for f in "${files[@]}"; do
  cmp -s "$good/$f" "$work/d3/$f" || fail "fallback: $f differs from the good mirror's"
done
if [[ $(find "$work/d3" -mindepth 1 | wc -l) != 4 ]]; then fail "fallback: leftovers in $work/d3"; fi

# 4. Files already present and valid are not downloaded again (no mirror works).
run "file://$work/missing/" "$work/d3" "${test_mode[@]}"
expect_status 0 "already present"
if [[ $(grep -c "already present, checksum ok" "$work/out") != 4 ]]; then
  fail "already present: not all four files skipped"
fi

# 5. A present but corrupt file is replaced; valid ones are kept.
echo corrupt >"$work/d3/${files[1]}"
run "file://$good/" "$work/d3" "${test_mode[@]}"
expect_status 0 "corrupt"
cmp -s "$good/${files[1]}" "$work/d3/${files[1]}" || fail "corrupt: ${files[1]} not replaced"
if [[ $(grep -c "already present" "$work/out") != 3 ]]; then fail "corrupt: others not kept"; fi

# 6. Without DIR the files go to $TINYQ_DATA.
set +e
env TINYQ_MNIST_MIRRORS="file://$good/" "${test_mode[@]}" TINYQ_DATA="$work/d6" \
  bash "$script" >"$work/out" 2>&1
status=$?
set -e
expect_status 0 "default folder"
for f in "${files[@]}"; do [[ -f $work/d6/$f ]] || fail "default folder: no $f in \$TINYQ_DATA"; done

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all fetch_mnist checks passed"
