#!/usr/bin/env bash
# Regenerates the README's figures: trains the default MLP on DATA_DIR, then
# draws apps/figures/training.svg (loss and accuracy per epoch) and
# apps/figures/quantization.svg (the weights under 3-bit grids without and
# with a zero level, and accuracy against bits per method) and
# apps/figures/activation_ranges.svg (the first hidden layer's calibration
# activations with each static int8 observer's range), and prints
# quantize_eval's default sweep (the table README's tutorial quotes) and the
# static int8 rows.
#   bash apps/make_figures.sh [DATA_DIR]
# DATA_DIR defaults to Debian's Fashion-MNIST (apt-get install
# dataset-fashion-mnist); the README's figures are drawn from it.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-/usr/share/datasets/fashion-mnist}

[ -f build/build.ninja ] || meson setup build --buildtype=release
meson compile -C build
mkdir -p build/runs apps/figures
./build/apps/train_mnist --data "$data" --out build/runs/figures.tqm \
  --plot apps/figures/training.svg
./build/apps/quantize_eval --data "$data" --model build/runs/figures.tqm \
  --plot apps/figures/quantization.svg
./build/apps/quantize_eval --data "$data" --model build/runs/figures.tqm \
  --activations minmax,percentile,mse,entropy --plot-activations apps/figures/activation_ranges.svg
