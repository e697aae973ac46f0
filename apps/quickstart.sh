#!/usr/bin/env bash
# Quick start, command 1: the main job end to end.
#   bash apps/quickstart.sh [DATA_DIR]      (from the repository's top folder)
# Installs missing prerequisites (with sudo when not root) and builds tinyq.
# Data: DATA_DIR if given; else MNIST where train_mnist looks by default,
# fetched there by apps/fetch_mnist.sh if missing; offline, Debian's
# Fashion-MNIST instead. Then trains the default MLP, saves it, and
# quantizes and evaluates it. Outputs go to build/runs/.
# QUICKSTART_EPOCHS=N trains N epochs instead of train_mnist's default 20
# (apps/check_readme.sh --quick uses 1).
set -euo pipefail
cd "$(dirname "$0")/.."

bash apps/install_prerequisites.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release
meson compile -C build

data_args=()
if [ $# -ge 1 ]; then
  data_args=(--data "$1")
elif ! bash apps/fetch_mnist.sh; then
  echo "quickstart: using Fashion-MNIST from Debian instead (same format, 60,000/10,000 images)."
  bash apps/install_prerequisites.sh dataset-fashion-mnist
  data_args=(--data /usr/share/datasets/fashion-mnist)
fi

mkdir -p build/runs
epoch_args=()
if [ -n "${QUICKSTART_EPOCHS:-}" ]; then epoch_args=(--epochs "$QUICKSTART_EPOCHS"); fi
./build/apps/train_mnist "${data_args[@]}" "${epoch_args[@]}" --out build/runs/mlp.tqm \
  --report build/runs/train.json
./build/apps/quantize_eval "${data_args[@]}" --model build/runs/mlp.tqm \
  --report build/runs/quantize.json
