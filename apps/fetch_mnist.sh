#!/usr/bin/env bash
# fetch_mnist.sh [DIR] -- download the four MNIST files (gzipped IDX) into DIR
# and verify them, for train_mnist. DIR defaults to the folder train_mnist
# reads by default:
#   ${TINYQ_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/tinyq/mnist}
#
# Each file is tried from several mirrors in turn, downloaded under a
# temporary name in DIR, and renamed to its real name only once its SHA-256
# matches the published one, so DIR never holds a partial or wrong file.
# Files already present with the right checksum are not downloaded again.
# Exit status: 0 when all four files are in DIR and valid, 1 otherwise.
#
# Environment:
#   TINYQ_MNIST_MIRRORS  space-separated base URLs (folders) tried in order;
#                        replaces the default list below. With curl, file://
#                        URLs work too, e.g. a local copy of the files.
#   TINYQ_MNIST_SHA256SUMS_FOR_TESTS  FOR TESTS ONLY: a file in `sha256sum`
#                        format ("<hex>  <name>" per line) that replaces the
#                        table of published checksums, so that the test can
#                        make "valid" fake files. Never set it otherwise.
set -euo pipefail

program=fetch_mnist
dest=${1:-${TINYQ_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/tinyq/mnist}}

# Mirrors in order: the S3 copy that torchvision uses, the Google Cloud copy
# that TensorFlow uses, then Yann LeCun's original site (often refuses
# downloads nowadays, hence last).
default_mirrors="https://ossci-datasets.s3.amazonaws.com/mnist/ \
https://storage.googleapis.com/cvdf-datasets/mnist/ \
http://yann.lecun.com/exdb/mnist/"
read -r -a mirrors <<<"${TINYQ_MNIST_MIRRORS:-$default_mirrors}"
for i in "${!mirrors[@]}"; do [[ ${mirrors[i]} == */ ]] || mirrors[i]+=/; done

# Published SHA-256 of each file (as listed by TensorFlow Datasets' checksum
# table for these files). The MD5 sums that torchvision checks agree:
#   train-images-idx3-ubyte.gz  f68b3c2dcbeaaa9fbdd348bbdeb94873   9912422 bytes
#   train-labels-idx1-ubyte.gz  d53e105ee54ea40749a09fcbcd1e9432     28881 bytes
#   t10k-images-idx3-ubyte.gz   9fb629c4189551a2d022fa330f9573f3   1648877 bytes
#   t10k-labels-idx1-ubyte.gz   ec29112dd5afa0611ce80d1b7f02629c      4542 bytes
published_sha256sums="\
440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz"
if [[ -n ${TINYQ_MNIST_SHA256SUMS_FOR_TESTS:-} ]]; then
  echo "$program: TEST MODE: expected checksums from $TINYQ_MNIST_SHA256SUMS_FOR_TESTS" >&2
  sha256sums=$(<"$TINYQ_MNIST_SHA256SUMS_FOR_TESTS")
else
  sha256sums=$published_sha256sums
fi

# The largest file is under 10 MB: refuse anything much bigger.
max_bytes=20000000

if command -v curl >/dev/null 2>&1; then
  download() {
    curl --fail --location --silent --show-error --connect-timeout 15 --max-time 600 \
      --retry 2 --retry-delay 3 --max-filesize "$max_bytes" --output "$2" "$1"
  }
elif command -v wget >/dev/null 2>&1; then
  download() { wget --quiet --tries=3 --timeout=15 --output-document="$2" "$1"; }
else
  echo "$program: error: neither curl nor wget is installed" >&2
  exit 1
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_of() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  echo "$program: error: neither sha256sum nor shasum is installed" >&2
  exit 1
fi

mkdir -p "$dest"
partial=""
trap 'if [[ -n $partial ]]; then rm -f "$partial"; fi' EXIT

failed=()
checksum_mismatches=0
# A mirror that a download failed from is not tried for the other files:
# offline, that makes the script give up after one round, not four.
unreachable=" "
while read -r expected name; do
  [[ -n $name ]] || continue
  target=$dest/$name
  if [[ -f $target ]]; then
    if [[ $(sha256_of "$target") == "$expected" ]]; then
      echo "$program: $name: already present, checksum ok"
      continue
    fi
    echo "$program: $name: present but its checksum is wrong; downloading it again" >&2
  fi
  done_ok=false
  for mirror in "${mirrors[@]}"; do
    [[ $unreachable != *" $mirror "* ]] || continue
    partial=$(mktemp "$dest/.$name.partial.XXXXXX")
    echo "$program: $name: downloading from $mirror"
    if ! download "$mirror$name" "$partial" </dev/null; then
      echo "$program: $name: could not download from $mirror" >&2
      unreachable+="$mirror "
    elif [[ $(sha256_of "$partial") != "$expected" ]]; then
      echo "$program: $name: checksum mismatch from $mirror; file rejected" >&2
      checksum_mismatches=$((checksum_mismatches + 1))
    else
      chmod 644 "$partial"
      mv -f "$partial" "$target"
      partial=""
      echo "$program: $name: ok"
      done_ok=true
      break
    fi
    rm -f "$partial"
    partial=""
  done
  if [[ $done_ok != true ]]; then failed+=("$name"); fi
done <<<"$sha256sums"

if ((${#failed[@]} == 0)); then
  echo "$program: all files are in $dest"
  if [[ $# -eq 0 ]]; then echo "$program: train_mnist reads this folder by default"; fi
  exit 0
fi

{
  echo
  echo "$program: error: could not get ${failed[*]} from any mirror:"
  printf '  %s\n' "${mirrors[@]}"
  if ((checksum_mismatches == 0)); then
    echo "Every download failed: this machine is probably offline (or the mirrors are down)."
  else
    echo "Some mirrors served files with the wrong checksum; they were not kept."
  fi
  echo "Options:"
  echo "  - copy the four MNIST .gz files into $dest from a machine that has them,"
  echo "    then run $program again to verify them;"
  echo "  - or use Fashion-MNIST (same IDX format, 10 classes), packaged by Debian/Ubuntu:"
  echo "      apt-get install dataset-fashion-mnist"
  echo "      train_mnist --data /usr/share/datasets/fashion-mnist"
} >&2
exit 1
