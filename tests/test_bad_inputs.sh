#!/usr/bin/env bash
# Throws malformed inputs and bad options at train_mnist and quantize_eval.
#
#   bash tests/test_bad_inputs.sh TRAIN_MNIST QUANTIZE_EVAL [SECONDS]
#
# Every case must end with exit status 1 (runtime error) or 2 (usage error),
# never a signal; print exactly one line on stderr, starting with "error: ";
# finish within SECONDS (default 1); and leave the output files that existed
# before the run byte-identical, with no temporary file beside them.
#
# The inputs are made here from nothing but printf, head, dd and gzip: a
# tiny valid MNIST-format set (4x4 images) and variants of it, each broken in
# one way. Exits 0 when every case passed.
set -u
train=$(realpath "$1")
quantize=$(realpath "$2")
limit=${3:-1}

work=$(mktemp -d "${TMPDIR:-/tmp}/tinyq_bad_inputs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
passed=0
failed=0

# --- bytes -------------------------------------------------------------------

# bytes 0 0 8 3 ...: each argument is one byte value.
bytes() {
  local b format=""
  for b; do printf -v b '\\%03o' $((b & 255)); format+=$b; done
  printf "$format"
}
be32() { bytes $(($1 >> 24)) $(($1 >> 16)) $(($1 >> 8)) $1; }
le32() { bytes $1 $(($1 >> 8)) $(($1 >> 16)) $(($1 >> 24)); }
le64() { le32 $(($1 & 0xFFFFFFFF)); le32 $(($1 >> 32)); }

# idx TYPE DIM...: an IDX header of that element type and those dimensions.
idx() {
  local type=$1
  shift
  bytes 0 0 "$type" $#
  local d
  for d; do be32 "$d"; done
}
# pattern N STEP: N bytes (i * STEP + 11) mod 256, or mod 10 when STEP is 0.
pattern() {
  local i values=()
  for ((i = 0; i < $1; i++)); do
    if [ "$2" -eq 0 ]; then values+=($((i % 10))); else values+=($(((i * $2 + 11) % 256))); fi
  done
  bytes "${values[@]}"
}
# flip FILE OFFSET: inverts every bit of one byte.
flip() {
  local old
  old=$(od -An -tu1 -j "$2" -N1 "$1")
  bytes $((~old & 255)) | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cut_last() { head -c -"$2" "$1" >"$1.cut" && mv "$1.cut" "$1"; }

# make_set DIR SIDE TRAIN TEST: a valid set of SIDExSIDE images.
make_set() {
  mkdir -p "$1"
  local split n
  for split in train t10k; do
    n=$3
    [ "$split" = t10k ] && n=$4
    { idx 8 "$n" "$2" "$2"; pattern $((n * $2 * $2)) 37; } >"$1/$split-images-idx3-ubyte"
    { idx 8 "$n"; pattern "$n" 0; } >"$1/$split-labels-idx1-ubyte"
  done
}
# variant NAME: a copy of the good set to break; prints its folder.
variant() {
  rm -rf "sets/$1"
  mkdir -p sets
  cp -r good "sets/$1"
  echo "sets/$1"
}

# --- the checks --------------------------------------------------------------

outputs=(out/model.tqm out/report.json out/plot.svg out/qmodel.tqm out/qreport.json out/qplot.svg)
mkdir -p out originals
for f in "${outputs[@]}"; do
  echo "earlier $(basename "$f"), must survive" >"$f"
  cp "$f" originals/
done

check() {
  local name=$1
  shift
  local start end status err problems=()
  start=$(date +%s%N)
  err=$(timeout -s KILL 20 "$@" 2>&1 >/dev/null)
  status=$?
  end=$(date +%s%N)
  local ms=$(((end - start) / 1000000))
  if [ "$status" -ne 1 ] && [ "$status" -ne 2 ]; then
    if [ "$status" -gt 128 ]; then problems+=("killed by signal $((status - 128))"); else problems+=("exit status $status"); fi
  fi
  local lines
  lines=$(printf '%s' "$err" | grep -c '')
  if [ "$lines" -ne 1 ] || [[ "$err" != "error: "* ]]; then
    problems+=("stderr is not one 'error: ' line: $(printf '%s' "$err" | head -3 | tr '\n' '|')")
  fi
  if [ "$ms" -gt $((limit * 1000)) ]; then problems+=("took $ms ms"); fi
  for f in "${outputs[@]}"; do
    cmp -s "$f" "originals/$(basename "$f")" || problems+=("$f changed")
  done
  if compgen -G "out/*.tmp" >/dev/null; then problems+=("temporary left: $(ls out/*.tmp)"); fi
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: ${problems[*]}"
    echo "     command: $*"
    # Put the outputs back, so one failure is not counted again by every later case.
    cp originals/* out/
    rm -f out/*.tmp
  fi
}

# One bad data folder, given to both programs (quantize_eval reads only t10k).
train_args=(--epochs 1 --hidden 4 --batch 8 --threads 2
  --out out/model.tqm --report out/report.json --plot out/plot.svg)
# quantize_eval reads only the t10k files: unless the break is in those (a
# third argument t10k), it is given a copy whose t10k files are the train ones.
check_data() {
  check "train_mnist: $1" "$train" --data "$2" "${train_args[@]}"
  local dir=$2
  if [ "${3:-train}" = train ] && [ -d "$dir" ]; then
    dir="$2 (train as t10k)"
    rm -rf "$dir"
    mkdir "$dir"
    local f
    for f in "$2"/train-*; do [ -e "$f" ] && cp -r "$f" "$dir/t10k-${f##*/train-}"; done
  fi
  check "quantize_eval: $1" "$quantize" --model model.tqm --data "$dir" --threads 2 \
    --scheme asymmetric --out out/qmodel.tqm --report out/qreport.json
}

# --- a good set and a good model, which must work --------------------------

make_set good 4 40 12
make_set good5 5 40 12
if ! "$train" --data good "${train_args[@]/out\//good_}" >/dev/null 2>err.txt ||
  ! "$train" --data good --epochs 1 --hidden 4 --out model.tqm --export model.safetensors \
    >/dev/null 2>>err.txt ||
  ! "$train" --data good5 --epochs 1 --hidden 4 --out model5.tqm >/dev/null 2>>err.txt ||
  ! "$quantize" --model model.tqm --data good --scheme symmetric --bits 4 \
    --out qmodel.tqm >/dev/null 2>>err.txt; then
  echo "FAIL: the programs do not run on a valid tiny set:"
  cat err.txt
  exit 1
fi

# --- IDX files: raw -----------------------------------------------------------

images=train-images-idx3-ubyte
labels=train-labels-idx1-ubyte
test_images=t10k-images-idx3-ubyte
test_labels=t10k-labels-idx1-ubyte

# break NAME FILE COMMAND...: the file replaced by what COMMAND prints.
break_file() {
  local name=$1 file=$2
  shift 2
  local dir
  dir=$(variant "$name")
  "$@" >"$dir/$file"
  echo "$dir"
}

declare -A broken=(
  [empty images]="$images:true"
  [truncated header]="$images:idx 8 40 4"
  [truncated data]="$images:idx 8 40 4 4; pattern 600 3"
  [trailing bytes]="$labels:idx 8 40; pattern 41 0"
  [label 10]="$labels:idx 8 40; pattern 39 0; bytes 10"
  [label 255]="$labels:idx 8 40; bytes 255; pattern 39 0"
  [rank 0]="$images:bytes 0 0 8 0"
  [rank 200]="$images:bytes 0 0 8 200; pattern 800 1"
  [rank 4 images]="$images:idx 8 40 4 4 1; pattern 640 3"
  [rank 2 labels]="$labels:idx 8 40 1; pattern 40 0"
  [wrong magic]="$images:bytes 1 2 8 3; be32 40; be32 4; be32 4; pattern 640 3"
  [unknown type]="$images:idx 66 40 4 4; pattern 640 3"
  [float images]="$images:idx 13 40 2 2; pattern 640 3"
  [short labels]="$labels:idx 11 40; pattern 80 0"
  [overflowing dims]="$images:idx 8 4294967295 4294967295 4294967295"
  [huge dims]="$images:idx 8 2147483647 65535 65535; pattern 64 1"
  [2 GiB claimed]="$images:idx 8 134217728 4 4; pattern 640 3"
  [labels fewer than images]="$labels:idx 8 39; pattern 39 0"
  [zero images]="$images:idx 8 0 4 4"
  [zero-pixel images]="$images:idx 8 40 0 0"
  [zero labels]="$labels:idx 8 0"
  [test images 5x5]="$test_images:idx 8 12 5 5; pattern 300 3"
  [test labels fewer]="$test_labels:idx 8 11; pattern 11 0"
  [text file]="$images:echo 'this is not an IDX file'"
)
for name in "${!broken[@]}"; do
  spec=${broken[$name]}
  dir=$(break_file "$name" "${spec%%:*}" eval "${spec#*:}")
  file=${spec%%:*}
  check_data "$name" "$dir" "${file%%-*}"
  # The same file gzip-compressed (the loader must take the .gz).
  gzdir=$(variant "$name.gz")
  cp "$dir/$file" "$gzdir/$file" && gzip -nf "$gzdir/$file"
  check_data "$name (.gz)" "$gzdir" "${file%%-*}"
done

# Bit flips across the header and into the data of the images file.
for offset in 0 2 3 5 9 13; do
  dir=$(variant "flip $offset")
  flip "$dir/$images" "$offset"
  check_data "flip byte $offset" "$dir"
done

# Missing, or a folder in place of a file; the data folder itself missing or a file.
dir=$(variant "missing labels") && rm "$dir/$labels" && check_data "missing labels" "$dir"
dir=$(variant "labels is a folder") && rm "$dir/$labels" && mkdir "$dir/$labels" &&
  check_data "labels file is a folder" "$dir"
check_data "data folder missing" sets/no-such-folder
check_data "data folder is a file" model.tqm

# --- IDX files: gzip ---------------------------------------------------------

gz_variant() {  # NAME: the good set with every file gzip-compressed
  local dir
  dir=$(variant "$1")
  gzip -nf "$dir"/*
  echo "$dir"
}
dir=$(gz_variant "gz truncated") && cut_last "$dir/$images.gz" 5 && check_data "gz trailer cut" "$dir"
dir=$(gz_variant "gz cut deep") && head -c 30 "$dir/$images.gz" >x && mv x "$dir/$images.gz" &&
  check_data "gz cut inside the stream" "$dir"
dir=$(gz_variant "gz crc") && size=$(stat -c %s "$dir/$images.gz") &&
  flip "$dir/$images.gz" $((size - 6)) && check_data "gz CRC flipped" "$dir"
dir=$(gz_variant "gz isize") && size=$(stat -c %s "$dir/$images.gz") &&
  flip "$dir/$images.gz" $((size - 3)) && check_data "gz ISIZE flipped" "$dir"
dir=$(gz_variant "gz body") && flip "$dir/$images.gz" 14 && check_data "gz stream byte flipped" "$dir"
dir=$(gz_variant "gz magic") && flip "$dir/$images.gz" 1 && check_data "gz magic flipped" "$dir"
dir=$(gz_variant "gz method") && flip "$dir/$images.gz" 2 && check_data "gz method flipped" "$dir"
dir=$(gz_variant "gz junk") && echo junk >>"$dir/$images.gz" && check_data "gz with junk appended" "$dir"
dir=$(gz_variant "gz twice") && gzip -nc "$dir/$labels.gz" >x && mv x "$dir/$labels.gz" &&
  check_data "gz of a gz" "$dir"
# A bomb: 64 MiB of zeros after a header that claims 40x4x4, ISIZE patched to match the header.
dir=$(gz_variant "gz bomb")
{ idx 8 40 4 4; head -c $((64 << 20)) /dev/zero; } | gzip -1 -nc >"$dir/$images.gz"
size=$(stat -c %s "$dir/$images.gz")
le32 $((16 + 640)) | dd of="$dir/$images.gz" bs=1 seek=$((size - 4)) conv=notrunc status=none
check_data "gz bomb with a lying ISIZE" "$dir"
dir=$(gz_variant "gz bomb honest")
{ idx 8 40 4 4; head -c $((64 << 20)) /dev/zero; } | gzip -1 -nc >"$dir/$images.gz"
check_data "gz that expands beyond its IDX header" "$dir"
dir=$(gz_variant "gz header lies")
{ idx 8 60000 28 28; pattern 640 3; } | gzip -nc >"$dir/$images.gz"
size=$(stat -c %s "$dir/$images.gz")
le32 $((16 + 60000 * 784)) | dd of="$dir/$images.gz" bs=1 seek=$((size - 4)) conv=notrunc status=none
check_data "gz whose header and ISIZE claim 47 MB it does not hold" "$dir"

# --- model files -------------------------------------------------------------

model_check() {  # NAME FILE
  check "quantize_eval model: $1" "$quantize" --model "$2" --data good --threads 2 \
    --report out/qreport.json --plot out/qplot.svg
}
mkdir -p models
: >models/empty && model_check "empty" models/empty
head -c 7 model.tqm >models/magic-only && model_check "magic cut" models/magic-only
head -c 100 model.tqm >models/cut100 && model_check "cut at 100 bytes" models/cut100
head -c -1 model.tqm >models/cut1 && model_check "last byte cut" models/cut1
head -c -1 qmodel.tqm >models/qcut1 && model_check "quantized, last byte cut" models/qcut1
cp model.tqm models/long && echo x >>models/long && model_check "trailing byte" models/long
for model in model.tqm qmodel.tqm; do
  size=$(stat -c %s $model)
  for offset in 0 8 12 16 22 30 40 $((size / 2)) $((size - 2)); do
    cp $model models/flip && flip models/flip "$offset" && model_check "$model, flip byte $offset" models/flip
  done
done
model_check "an IDX file" good/$images
gzip -nc model.tqm >models/model.gz && model_check "a gzip file" models/model.gz
echo "TINYQMDL but text" >models/text && model_check "text with the magic" models/text
model_check "a folder" models
model_check "missing" models/no-such-model
model_check "input width differs from the images" model5.tqm
# Well-formed framing and a valid CRC around payloads whose shapes are absurd.
with_crc() {  # the body from stdin, then its CRC-32 (taken from gzip's trailer)
  cat >body.bin
  cat body.bin
  gzip -nc body.bin | tail -c 8 | head -c 4
}
layer() {  # KIND PAYLOAD-COMMAND
  local kind=$1
  shift
  eval "$@" >payload.bin
  le32 ${#kind}
  printf '%s' "$kind"
  le64 "$(stat -c %s payload.bin)"
  cat payload.bin
}
header() { printf 'TINYQMDL'; le32 1; le32 "$1"; }
{ header 1; layer dense "le32 4294967295; le32 4294967295"; } | with_crc >models/dense-huge
model_check "dense 2^32 x 2^32" models/dense-huge
{ header 1; layer dense "le32 0; le32 10"; } | with_crc >models/dense-zero
model_check "dense with 0 inputs" models/dense-zero
{ header 1; layer dense "le32 16; le32 10; pattern 100 1"; } | with_crc >models/dense-short
model_check "dense payload shorter than its shapes" models/dense-short
{ header 1; layer relu "true"; } | with_crc >models/relu-only
model_check "relu only" models/relu-only
{ header 1; layer conv2d "le32 1"; } | with_crc >models/foreign-kind
model_check "unknown layer kind" models/foreign-kind
{ header 1; layer quantized_dense "le32 4294967295; le32 4294967295; pattern 64 7"; } |
  with_crc >models/qhuge
model_check "quantized_dense 2^32 x 2^32" models/qhuge
{ header 1; layer quantized_dense "pattern 200 13"; } | with_crc >models/qjunk
model_check "quantized_dense with a junk payload" models/qjunk
{ header 4000000000; } | with_crc >models/many-layers
model_check "4e9 layers claimed" models/many-layers
{ header 1; le32 5; printf dense; le64 $((1 << 62)); } | with_crc >models/huge-payload
model_check "payload length 2^62" models/huge-payload

# safetensors: an exported model, broken.
st_size=$(stat -c %s model.safetensors)
head -c $((st_size / 2)) model.safetensors >models/st-half && model_check "safetensors cut in half" models/st-half
head -c -1 model.safetensors >models/st-cut1 && model_check "safetensors, last byte cut" models/st-cut1
cp model.safetensors models/st-long && echo x >>models/st-long && model_check "safetensors, trailing byte" models/st-long
for offset in 0 7 8 9 20 40; do
  cp model.safetensors models/st-flip && flip models/st-flip "$offset" &&
    model_check "safetensors, flip byte $offset" models/st-flip
done
{ le64 $((1 << 40)); printf '{}'; } >models/st-huge-header && model_check "safetensors header of 1 TiB" models/st-huge-header
{ le64 2; printf '{}'; } >models/st-empty && model_check "safetensors with no tensors" models/st-empty
json='{"0.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}'
{ le64 ${#json}; printf '%s' "$json"; pattern 16 1; } >models/st-huge-shape
model_check "safetensors shape 2^32 x 2^32" models/st-huge-shape

# --- options -----------------------------------------------------------------

train_option() {  # NAME OPTION...
  local name=$1
  shift
  check "train_mnist $name" "$train" --data good --epochs 1 --hidden 4 --threads 2 \
    --out out/model.tqm --report out/report.json "$@"
}
train_option "unknown option" --bogus 1
train_option "stray argument" stray
train_option "missing value" --batch
train_option "given twice" --lr 0.1 --lr 0.2
for bad in abc -1 0 1.5 '' 99999999999999999999 65537; do train_option "--batch '$bad'" --batch "$bad"; done
for bad in abc -1 1e999 nan inf -0.5 1000 ''; do train_option "--lr '$bad'" --lr "$bad"; done
for bad in 1 -0.1 x 2; do train_option "--momentum '$bad'" --momentum "$bad"; done
for bad in -1 2 nan; do train_option "--weight-decay '$bad'" --weight-decay "$bad"; done
for bad in 0 -4 4,,4 4, ,4 abc '' 99999999 65536,65536 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1; do train_option "--hidden '$bad'" --hidden "$bad"; done
for bad in 0 -1 x 1e3 99999999999; do
  check "train_mnist --epochs '$bad'" "$train" --data good --epochs "$bad" --out out/model.tqm
done
for bad in 9 -1 x; do train_option "--shift '$bad'" --shift "$bad"; done
for bad in -1 x 18446744073709551616; do train_option "--seed '$bad'" --seed "$bad"; done
for bad in 0 257 x; do train_option "--threads '$bad'" --threads "$bad"; done
train_option "--schedule unknown" --schedule linear
train_option "--help with a value" --help=1
train_option "--out in a missing folder" --out out/missing/model.tqm
train_option "--out is a folder" --out out
dir=$(variant "out is input")
check "train_mnist --out is the training images" "$train" --data "$dir" --epochs 1 --hidden 4 \
  --threads 2 --out "$dir/$images"
check "train_mnist --report is the test labels" "$train" --data "$dir" --epochs 1 --hidden 4 \
  --threads 2 --out out/model.tqm --report "$dir/$test_labels"
cmp -s "$dir/$images" good/$images && cmp -s "$dir/$test_labels" good/$test_labels ||
  { echo "FAIL: train_mnist overwrote its own input"; failed=$((failed + 1)); }
check "train_mnist diverging (--lr 100 --weight-decay 1)" "$train" --data good --epochs 50 \
  --hidden 32 --lr 100 --weight-decay 1 --schedule constant --threads 2 --out out/model.tqm --report out/report.json

quantize_option() {  # NAME OPTION...
  local name=$1
  shift
  check "quantize_eval $name" "$quantize" --model model.tqm --data good --threads 2 "$@"
}
check "quantize_eval without --model" "$quantize" --data good
quantize_option "unknown option" --bits-per-weight 4
quantize_option "missing value" --bits
quantize_option "given twice" --bits 4 --bits 8 --scheme symmetric
for bad in 1 9 0 -8 x 4.5 ''; do quantize_option "--bits '$bad'" --scheme symmetric --bits "$bad"; done
for bad in 0 15 17 48 -16 x 99999999999; do
  quantize_option "--group-size '$bad'" --scheme symmetric --granularity group --group-size "$bad"
done
quantize_option "--scheme unknown" --scheme affine
quantize_option "--granularity unknown" --scheme symmetric --granularity row
for bad in 99 1 x -1; do
  quantize_option "--keep-float '$bad'" --scheme symmetric --keep-float "$bad" --out out/qmodel.tqm
done
quantize_option "--out without --scheme" --out out/qmodel.tqm
quantize_option "--out is the model" --scheme symmetric --out model.tqm
quantize_option "--report is the model" --report model.tqm
quantize_option "--plot is the model" --plot ./model.tqm
quantize_option "scheme options on a quantized model" --scheme symmetric --model qmodel.tqm
quantize_option "--plot on a quantized model" --model qmodel.tqm --plot out/qplot.svg
quantize_option "--out in a missing folder" --scheme symmetric --out out/missing/q.tqm
quantize_option "--out is a folder" --scheme symmetric --out out
for bad in 0 257 x; do quantize_option "--threads '$bad'" --threads "$bad"; done

# --- a write that fails ------------------------------------------------------
# With the file-size limit at 0 every write to a regular file fails (EFBIG):
# the earlier model must stay, and no temporary may be left behind.
check "train_mnist whose write fails (ulimit -f 0)" \
  bash -c 'ulimit -f 0 && exec "$@"' - "$train" "${train_args[@]}" --data good
check "quantize_eval whose write fails (ulimit -f 0)" \
  bash -c 'ulimit -f 0 && exec "$@"' - "$quantize" --model model.tqm --data good --threads 2 \
  --scheme symmetric --out out/qmodel.tqm --report out/qreport.json

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
