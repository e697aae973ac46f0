#!/usr/bin/env bash
# README: results do not depend on --threads. train_mnist and quantize_eval
# run at --threads 1, 2 and 3 on the same small MNIST-format set must write
# byte-identical models and reports (the reports' timing fields aside).
#
#   bash tests/test_thread_count.sh TRAIN_MNIST QUANTIZE_EVAL
#
# The set is big enough for the work to be split: 784-pixel images, a
# 64-unit hidden layer (its 50,176 weights exceed SGD's threshold for
# threads), batches of 64, and 400 test images evaluated in one forward
# pass (more than two of the quantized kernel's 192-row blocks per thread).
set -u
train=$(realpath "$1")
quantize=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/tinyq_thread_count.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failed=0

# IDX files from awk: an image's pixels are a smooth blob whose place
# depends on its label, plus a pattern, so training has something to learn.
write_set() {  # SPLIT COUNT
  LC_ALL=C awk -v n="$2" 'BEGIN {
    printf "%c%c%c%c", 0, 0, 8, 3
    printf "%c%c%c%c", int(n / 16777216) % 256, int(n / 65536) % 256, int(n / 256) % 256, n % 256
    printf "%c%c%c%c%c%c%c%c", 0, 0, 0, 28, 0, 0, 0, 28
    for (i = 0; i < n; i++) {
      label = (i * 7) % 10
      for (p = 0; p < 784; p++) {
        r = int(p / 28); c = p % 28
        dr = r - 6 - 2 * (label % 5); dc = c - 8 - 10 * int(label / 5)
        v = 200 - 12 * (dr * dr + dc * dc) + (i * 31 + p * 17) % 40
        printf "%c", v < 0 ? 0 : (v > 255 ? 255 : int(v))
      }
    }
  }' >"set/$1-images-idx3-ubyte"
  LC_ALL=C awk -v n="$2" 'BEGIN {
    printf "%c%c%c%c", 0, 0, 8, 1
    printf "%c%c%c%c", int(n / 16777216) % 256, int(n / 65536) % 256, int(n / 256) % 256, n % 256
    for (i = 0; i < n; i++) printf "%c", (i * 7) % 10
  }' >"set/$1-labels-idx1-ubyte"
}
mkdir set
write_set train 256
write_set t10k 400
size=$(stat -c %s set/t10k-images-idx3-ubyte)
[ "$size" -eq $((16 + 400 * 784)) ] || { echo "FAIL: the test set is $size bytes, expected $((16 + 400 * 784))"; exit 1; }

# run NAME COMMAND...: a step that must succeed.
run() {
  local name=$1
  shift
  if ! "$@" >/dev/null 2>"$name.err"; then
    echo "FAIL: $name: $(head -3 "$name.err")"
    failed=$((failed + 1))
  fi
}
# same NAME FILE1 FILE2: the files must be equal.
same() {
  if ! cmp -s "$2" "$3"; then
    echo "FAIL: $1: $2 and $3 differ"
    diff "$2" "$3" | head -10
    failed=$((failed + 1))
  fi
}
untimed() { grep -v -E '"(seconds|samples_per_second)"' "$1" >"$1.untimed"; }

for t in 1 2 3; do
  run "train_mnist --threads $t" "$train" --data set --epochs 2 --hidden 64 --batch 64 \
    --threads "$t" --out "model$t.tqm" --report "train$t.json"
  run "quantize_eval sweep --threads $t" "$quantize" --model model1.tqm --data set \
    --threads "$t" --report "sweep$t.json"
  run "quantize_eval --scheme --threads $t" "$quantize" --model model1.tqm --data set \
    --threads "$t" --scheme asymmetric --granularity group --group-size 64 --bits 4 \
    --out "quantized$t.tqm" --report "quantized$t.json"
  # GPTQ with grid refits (row-parallel passes and least-squares fits), bias
  # correction and grid tuning (training passes of the dequantized model).
  run "quantize_eval gptq --refits --threads $t" "$quantize" --model model1.tqm --data set \
    --threads "$t" --scheme asymmetric --granularity group --group-size 16 --bits 2 \
    --method gptq --grid zero-exact --act-order --refits 2 --bias-correction --tune-epochs 2 \
    --out "gptq$t.tqm"
  # Quantization-aware training: fake quantization, STE and learned scales
  # split across threads too; the saved quantized models must not differ.
  run "train_mnist --qat-bits 2 --threads $t" "$train" --data set --epochs 2 --hidden 64 \
    --batch 64 --threads "$t" --qat-bits 2 --qat-learn-scale --out "qat$t.tqm"
  run "train_mnist --qat-bits 1.58 --threads $t" "$train" --data set --epochs 1 --hidden 64 \
    --batch 64 --threads "$t" --qat-bits 1.58 --qat-granularity group --qat-group-size 16 \
    --qat-grid mse --out "ternary$t.tqm"
  for f in train$t.json sweep$t.json quantized$t.json; do untimed "$f"; done
done
for t in 2 3; do
  same "model, 1 vs $t threads" model1.tqm "model$t.tqm"
  same "training report, 1 vs $t threads" train1.json.untimed "train$t.json.untimed"
  same "quantize_eval sweep report, 1 vs $t threads" sweep1.json.untimed "sweep$t.json.untimed"
  same "quantized model, 1 vs $t threads" quantized1.tqm "quantized$t.tqm"
  same "quantized report, 1 vs $t threads" quantized1.json.untimed "quantized$t.json.untimed"
  same "GPTQ model with refits and tuning, 1 vs $t threads" gptq1.tqm "gptq$t.tqm"
  same "QAT model, 1 vs $t threads" qat1.tqm "qat$t.tqm"
  same "ternary QAT model, 1 vs $t threads" ternary1.tqm "ternary$t.tqm"
done
# The comparison means something only if the sweep covers both kernels.
grep -q '"kernel": "dynamic_int8"' sweep1.json ||
  { echo "FAIL: the sweep report has no dynamic_int8 row"; failed=$((failed + 1)); }
grep -q '"kernel": "weight_only"' sweep1.json ||
  { echo "FAIL: the sweep report has no weight_only row"; failed=$((failed + 1)); }
echo "thread counts 1, 2, 3: $failed failed"
[ "$failed" -eq 0 ]
