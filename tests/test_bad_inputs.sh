#!/usr/bin/env bash
# Throws malformed inputs and bad options at train_mnist and quantize_eval.
#
#   bash tests/test_bad_inputs.sh TRAIN_MNIST QUANTIZE_EVAL [SECONDS]
#
# Every case is a failing command and the same command with the one bad
# thing (a file, an option value, a missing option) replaced by a good one.
# The good command must succeed, so the failure is caused by that one thing.
# The bad command must end with exit status 1 (runtime error) or 2 (usage
# error), never a signal; print exactly one line on stderr, starting with
# "error: " and containing the fragment the case names (what went wrong);
# finish within SECONDS (default 1); and leave the output files that existed
# before the run byte-identical, with no temporary file beside them.
#
# The inputs are made here from nothing but printf, head, dd and gzip: a
# tiny valid MNIST-format set (4x4 images) and variants of it, each broken in
# one way. Setup steps that fail are counted as failures, and the number of
# cases run must equal expected_cases below, so no case drops out silently.
# Exits 0 when every case passed.
set -u
expected_cases=371
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

# must COMMAND...: a setup step; its failure is counted and shown, and the
# cases that follow still run (and fail on the broken setup themselves).
must() {
  if ! "$@"; then
    failed=$((failed + 1))
    echo "FAIL setup step: $*"
  fi
}

# --- the checks --------------------------------------------------------------

outputs=(out/model.tqm out/report.json out/plot.svg out/qmodel.tqm out/qreport.json out/qplot.svg
  out/smodel.c out/aplot.svg)
mkdir -p out originals
for f in "${outputs[@]}"; do
  echo "earlier $(basename "$f"), must survive" >"$f"
  cp "$f" originals/
done
put_back_outputs() {
  cp originals/* out/
  rm -f out/*.tmp
}

cases=0
declare -A control_result  # good command -> "ok" or why it failed (each runs once)

# expect NAME FRAGMENT: runs the commands in the arrays `good` and `bad`.
# good must succeed; bad must fail as described at the top, with FRAGMENT
# in its error line.
expect() {
  local name=$1 fragment=$2
  cases=$((cases + 1))
  local problems=() key
  key=$(printf '%q ' "${good[@]}")
  if [ -z "${control_result[$key]+set}" ]; then
    local control_err
    if control_err=$(timeout -s KILL 60 "${good[@]}" 2>&1 >/dev/null); then
      control_result[$key]=ok
    else
      control_result[$key]="exit status $?: $(printf '%s' "$control_err" | head -2 | tr '\n' '|')"
    fi
    put_back_outputs
  fi
  [ "${control_result[$key]}" = ok ] ||
    problems+=("the good command fails too (${control_result[$key]})")

  local start end status err
  start=$(date +%s%N)
  err=$(timeout -s KILL 20 "${bad[@]}" 2>&1 >/dev/null)
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
  elif [[ "$err" != *"$fragment"* ]]; then
    problems+=("the error does not say '$fragment': $err")
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
    echo "     bad command:  ${bad[*]}"
    echo "     good command: ${good[*]}"
    # Put the outputs back, so one failure is not counted again by every later case.
    put_back_outputs
  fi
}

# as_t10k DIR: a copy of DIR whose t10k files are its train files (quantize_eval
# reads only t10k, so a break in a train file reaches it this way); prints it.
as_t10k() {
  local copy="$1 (train as t10k)" f
  rm -rf "$copy"
  mkdir "$copy"
  for f in "$1"/train-*; do [ -e "$f" ] && cp -r "$f" "$copy/t10k-${f##*/train-}"; done
  echo "$copy"
}

# One bad data folder, given to both programs; GOOD_DIR is the same folder
# unbroken (the good set, with the same files gzip-compressed).
train_args=(--epochs 1 --hidden 4 --batch 8 --threads 2
  --out out/model.tqm --report out/report.json --plot out/plot.svg)
quantize_data_args=(--threads 2 --scheme asymmetric --out out/qmodel.tqm --report out/qreport.json)
# check_data NAME TRAIN_FRAGMENT QUANTIZE_FRAGMENT DIR GOOD_DIR [t10k]
# (QUANTIZE_FRAGMENT "=" means the same as TRAIN_FRAGMENT). Unless the break
# is in a t10k file, quantize_eval gets both folders through as_t10k.
check_data() {
  local name=$1 train_fragment=$2 quantize_fragment=$3 dir=$4 good_dir=$5
  [ "$quantize_fragment" = "=" ] && quantize_fragment=$train_fragment
  bad=("$train" --data "$dir" "${train_args[@]}")
  good=("$train" --data "$good_dir" "${train_args[@]}")
  expect "train_mnist: $name" "$train_fragment"
  if [ "${6:-train}" = train ] && [ -d "$dir" ]; then
    dir=$(as_t10k "$dir")
    good_dir=$(as_t10k "$good_dir")
  fi
  bad=("$quantize" --model model.tqm --data "$dir" "${quantize_data_args[@]}")
  good=("$quantize" --model model.tqm --data "$good_dir" "${quantize_data_args[@]}")
  expect "quantize_eval: $name" "$quantize_fragment"
}

# --- a good set and a good model, which must work --------------------------

make_set good 4 40 12
make_set good5 5 40 12
if ! "$train" --data good "${train_args[@]/out\//good_}" >/dev/null 2>err.txt ||
  ! "$train" --data good --epochs 1 --hidden 4 --out model.tqm --export model.safetensors \
    >/dev/null 2>>err.txt ||
  ! "$train" --data good5 --epochs 1 --hidden 4 --out model5.tqm >/dev/null 2>>err.txt ||
  ! "$quantize" --model model.tqm --data good --scheme symmetric --bits 4 \
    --out qmodel.tqm >/dev/null 2>>err.txt ||
  ! "$quantize" --model model.tqm --data good --activations minmax --calibration 40 \
    --out smodel.tqm >/dev/null 2>>err.txt; then
  echo "FAIL: the programs do not run on a valid tiny set:"
  cat err.txt
  exit 1
fi

# --- IDX files: raw -----------------------------------------------------------

images=train-images-idx3-ubyte
labels=train-labels-idx1-ubyte
test_images=t10k-images-idx3-ubyte
test_labels=t10k-labels-idx1-ubyte

# The good set with one file gzip-compressed, or all of them: the good
# folders of the .gz cases.
good_gz() {  # FILE|all: prints the folder
  local dir="sets/good with $1 gzipped"
  if [ ! -d "$dir" ]; then
    cp -r good "$dir"
    if [ "$1" = all ]; then gzip -nf "$dir"/*; else gzip -nf "$dir/$1"; fi
  fi
  echo "$dir"
}

# break NAME FILE COMMAND...: the file replaced by what COMMAND prints.
break_file() {
  local name=$1 file=$2
  shift 2
  local dir
  dir=$(variant "$name")
  "$@" >"$dir/$file"
  echo "$dir"
}

# name -> file:command that writes the broken file|fragment train_mnist must
# name|fragment quantize_eval must name ("=": the same).
declare -A broken=(
  [empty images]="$images:true|truncated IDX header: expected at least 4 bytes, found 0|="
  [truncated header]="$images:idx 8 40 4|says 160 bytes after the 12-byte header, found 0 (truncated)|="
  [truncated data]="$images:idx 8 40 4 4; pattern 600 3|says 640 bytes after the 16-byte header, found 600 (truncated)|="
  [trailing bytes]="$labels:idx 8 40; pattern 41 0|says 40 bytes after the 8-byte header, found 41 (trailing bytes)|="
  [label 10]="$labels:idx 8 40; pattern 39 0; bytes 10|label 39 is 10 (expected 0..9)|="
  [label 255]="$labels:idx 8 40; bytes 255; pattern 39 0|label 0 is 255 (expected 0..9)|="
  [rank 0]="$images:bytes 0 0 8 0|bad IDX rank 0 at byte 3 (expected 1 to 4)|="
  [rank 200]="$images:bytes 0 0 8 200; pattern 800 1|bad IDX rank 200 at byte 3|="
  [rank 4 images]="$images:idx 8 40 4 4 1; pattern 640 3|expected MNIST images (ubyte of rank 3), found ubyte of rank 4|="
  [rank 2 labels]="$labels:idx 8 40 1; pattern 40 0|expected MNIST labels (ubyte of rank 1), found ubyte of rank 2|="
  [wrong magic]="$images:bytes 1 2 8 3; be32 40; be32 4; be32 4; pattern 640 3|bad IDX magic: expected 0x00 0x00 at byte 0, found 0x01 0x02|="
  [unknown type]="$images:idx 66 40 4 4; pattern 640 3|unknown IDX element type 0x42 at byte 2|="
  [float images]="$images:idx 13 40 2 2; pattern 640 3|expected MNIST images (ubyte of rank 3), found float of rank 3|="
  [short labels]="$labels:idx 11 40; pattern 80 0|expected MNIST labels (ubyte of rank 1), found short of rank 1|="
  [overflowing dims]="$images:idx 8 4294967295 4294967295 4294967295|IDX dimensions 4294967295 at axis 1 make the data larger than 2^48 bytes|="
  [huge dims]="$images:idx 8 2147483647 65535 65535; pattern 64 1|IDX dimensions 65535 at axis 2 make the data larger than 2^48 bytes|="
  [2 GiB claimed]="$images:idx 8 134217728 4 4; pattern 640 3|says 2147483648 bytes after the 16-byte header, found 640 (truncated)|="
  [labels fewer than images]="$labels:idx 8 39; pattern 39 0|holds 39 labels, but|="
  [zero images]="$images:idx 8 0 4 4|holds 40 labels, but|="
  [zero-pixel images]="$images:idx 8 40 0 0|no images (found ubyte of rank 3 [40, 0, 0])|="
  [zero labels]="$labels:idx 8 0|holds 0 labels, but|="
  [test images 5x5]="$test_images:idx 8 12 5 5; pattern 300 3|train images are 4x4 but t10k images are 5x5|model expects 16 inputs, but the images have 25 pixels"
  [test labels fewer]="$test_labels:idx 8 11; pattern 11 0|holds 11 labels, but|="
  [text file]="$images:echo 'this is not an IDX file'|bad IDX magic: expected 0x00 0x00 at byte 0, found 0x74 0x68|="
)
# What the .gz copy of a file says where it differs from the raw one: the
# header is checked against the gzip trailer's ISIZE before decompressing.
declare -A broken_gz_fragment=(
  [truncated header]="IDX header says the decompressed file is 172 bytes, but the gzip trailer (ISIZE) says 12"
  [truncated data]="IDX header says the decompressed file is 656 bytes, but the gzip trailer (ISIZE) says 616"
  [trailing bytes]="IDX header says the decompressed file is 48 bytes, but the gzip trailer (ISIZE) says 49"
  [2 GiB claimed]="IDX header says 2147483664 bytes after decompression, more than the limit of 1073741824"
)
for name in "${!broken[@]}"; do
  IFS='|' read -r spec train_fragment quantize_fragment <<<"${broken[$name]}"
  file=${spec%%:*}
  dir=$(break_file "$name" "$file" eval "${spec#*:}")
  check_data "$name" "$train_fragment" "$quantize_fragment" "$dir" good "${file%%-*}"
  # The same file gzip-compressed (the loader must take the .gz).
  gzdir=$(variant "$name.gz")
  must cp "$dir/$file" "$gzdir/$file"
  must gzip -nf "$gzdir/$file"
  if [ -n "${broken_gz_fragment[$name]+set}" ]; then
    train_fragment=${broken_gz_fragment[$name]}
    quantize_fragment="="
  fi
  check_data "$name (.gz)" "$train_fragment" "$quantize_fragment" "$gzdir" "$(good_gz "$file")" \
    "${file%%-*}"
done

# Bit flips across the header and into the data of the images file.
declare -A flip_fragment=(
  [0]="bad IDX magic: expected 0x00 0x00 at byte 0, found 0xff 0x00"
  [2]="unknown IDX element type 0xf7 at byte 2"
  [3]="bad IDX rank 252 at byte 3"
  [5]="header (ubyte, 16711720 x 4 x 4) says 267387520 bytes"
  [9]="header (ubyte, 40 x 16711684 x 4) says 2673869440 bytes"
  [13]="header (ubyte, 40 x 4 x 16711684) says 2673869440 bytes"
)
for offset in 0 2 3 5 9 13; do
  dir=$(variant "flip $offset")
  must flip "$dir/$images" "$offset"
  check_data "flip byte $offset" "${flip_fragment[$offset]}" "=" "$dir" good
done

# Missing, or a folder in place of a file; the data folder itself missing or a file.
dir=$(variant "missing labels")
must rm "$dir/$labels"
check_data "missing labels" "MNIST file not found: tried sets/missing labels/$labels and" \
  "MNIST file not found: tried sets/missing labels (train as t10k)/$test_labels and" "$dir" good
dir=$(variant "labels is a folder")
must rm "$dir/$labels"
must mkdir "$dir/$labels"
check_data "labels file is a folder" "MNIST file not found: tried sets/labels is a folder/$labels" \
  "MNIST file not found: tried sets/labels is a folder (train as t10k)/$test_labels" "$dir" good
check_data "data folder missing" "MNIST file not found: tried sets/no-such-folder/$images" \
  "MNIST file not found: tried sets/no-such-folder/$test_images" sets/no-such-folder good
check_data "data folder is a file" "MNIST file not found: tried model.tqm/$images" \
  "MNIST file not found: tried model.tqm/$test_images" model.tqm good

# --- IDX files: gzip ---------------------------------------------------------

gz_variant() {  # NAME: the good set with every file gzip-compressed
  local dir
  dir=$(variant "$1")
  gzip -nf "$dir"/*
  echo "$dir"
}
all_gz=$(good_gz all)
isize_says="IDX header says the decompressed file is 656 bytes, but the gzip trailer (ISIZE) says"
dir=$(gz_variant "gz truncated")
must cut_last "$dir/$images.gz" 5
check_data "gz trailer cut" "$isize_says" "=" "$dir" "$all_gz"
dir=$(gz_variant "gz cut deep")
must head -c 30 "$dir/$images.gz" >x
must mv x "$dir/$images.gz"
check_data "gz cut inside the stream" "$isize_says" "=" "$dir" "$all_gz"
dir=$(gz_variant "gz crc")
size=$(stat -c %s "$dir/$images.gz")
must flip "$dir/$images.gz" $((size - 6))
check_data "gz CRC flipped" "gzip CRC-32 mismatch: trailer says" "=" "$dir" "$all_gz"
dir=$(gz_variant "gz isize")
size=$(stat -c %s "$dir/$images.gz")
must flip "$dir/$images.gz" $((size - 3))
check_data "gz ISIZE flipped" "$isize_says 64912" "=" "$dir" "$all_gz"
dir=$(gz_variant "gz body")
must flip "$dir/$images.gz" 14
check_data "gz stream byte flipped" "corrupt gzip data: deflate: distance 11 is too far back" "=" \
  "$dir" "$all_gz"
dir=$(gz_variant "gz magic")
must flip "$dir/$images.gz" 1
check_data "gz magic flipped" "bad IDX magic: expected 0x00 0x00 at byte 0, found 0x1f 0x74" "=" \
  "$dir" "$all_gz"
dir=$(gz_variant "gz method")
must flip "$dir/$images.gz" 2
check_data "gz method flipped" "unsupported gzip compression method 247 at byte 2" "=" "$dir" "$all_gz"
dir=$(gz_variant "gz junk")
echo junk >>"$dir/$images.gz"
check_data "gz with junk appended" "$isize_says" "=" "$dir" "$all_gz"
dir=$(gz_variant "gz twice")
must gzip -nc "$dir/$labels.gz" >x
must mv x "$dir/$labels.gz"
check_data "gz of a gz" "bad IDX magic: expected 0x00 0x00 at byte 0, found 0x1f 0x8b" "=" "$dir" \
  "$all_gz"
# A bomb: 64 MiB of zeros after a header that claims 40x4x4, ISIZE patched to match the header.
dir=$(gz_variant "gz bomb")
{ idx 8 40 4 4; head -c $((64 << 20)) /dev/zero; } | gzip -1 -nc >"$dir/$images.gz"
size=$(stat -c %s "$dir/$images.gz")
le32 $((16 + 640)) | dd of="$dir/$images.gz" bs=1 seek=$((size - 4)) conv=notrunc status=none
check_data "gz bomb with a lying ISIZE" "deflate: output exceeds the limit of 656 bytes" "=" "$dir" \
  "$all_gz"
dir=$(gz_variant "gz bomb honest")
{ idx 8 40 4 4; head -c $((64 << 20)) /dev/zero; } | gzip -1 -nc >"$dir/$images.gz"
check_data "gz that expands beyond its IDX header" "$isize_says 67108880" "=" "$dir" "$all_gz"
dir=$(gz_variant "gz header lies")
{ idx 8 60000 28 28; pattern 640 3; } | gzip -nc >"$dir/$images.gz"
size=$(stat -c %s "$dir/$images.gz")
le32 $((16 + 60000 * 784)) | dd of="$dir/$images.gz" bs=1 seek=$((size - 4)) conv=notrunc status=none
check_data "gz whose header and ISIZE claim 47 MB it does not hold" \
  "gzip ISIZE mismatch: trailer says 47040016 bytes, data decompresses to 656" "=" "$dir" "$all_gz"

# --- model files -------------------------------------------------------------

# model_check NAME FRAGMENT FILE [GOOD_FILE]: quantize_eval on a bad model
# file, and on GOOD_FILE (default model.tqm) with the same options. A
# quantized model gets no --plot (that option needs a float model).
model_check() {
  local name=$1 fragment=$2 file=$3 good_file=${4:-model.tqm}
  local options=(--data good --threads 2 --report out/qreport.json --plot out/qplot.svg)
  [ "$good_file" = qmodel.tqm ] && options=(--data good --threads 2 --report out/qreport.json)
  bad=("$quantize" --model "$file" "${options[@]}")
  good=("$quantize" --model "$good_file" "${options[@]}")
  expect "quantize_eval model: $name" "$fragment"
}
not_a_model="not a model file (expected a tinyq model"
mkdir -p models
: >models/empty
model_check "empty" "models/empty: $not_a_model" models/empty
head -c 7 model.tqm >models/magic-only
model_check "magic cut" "models/magic-only: $not_a_model" models/magic-only
head -c 100 model.tqm >models/cut100
model_check "cut at 100 bytes" "truncated: layer 0 (dense) declares 338 payload bytes" models/cut100
head -c -1 model.tqm >models/cut1
model_check "last byte cut" "truncated: missing the 4-byte checksum" models/cut1
head -c -1 qmodel.tqm >models/qcut1
model_check "quantized, last byte cut" "truncated: missing the 4-byte checksum" models/qcut1 qmodel.tqm
cp model.tqm models/long
echo x >>models/long
model_check "trailing byte" "2 trailing bytes after the layers" models/long
# model -> offset:fragment ... for single-byte flips.
declare -A model_flips=(
  [model.tqm]="0:$not_a_model|8:unknown model file version 253, expected 1 to 2|12:252 layers cannot fit|16:string of 250 bytes, limit is 64|22:layer 0 kind tag is not printable ASCII|30:truncated: layer 0 (dense) declares 280375465083218 payload bytes|40:checksum mismatch|half:checksum mismatch|end:checksum mismatch"
  [qmodel.tqm]="0:$not_a_model|8:unknown model file version 253, expected 1 to 2|12:252 layers cannot fit|16:string of 240 bytes, limit is 64|22:layer 0 kind tag is not printable ASCII|30:layer 0 kind tag is not printable ASCII|40:truncated: layer 0 (quantized_dense) declares|half:truncated: layer 1 (relu) declares 1095216660488 payload bytes|end:checksum mismatch"
)
for model in model.tqm qmodel.tqm; do
  size=$(stat -c %s $model)
  IFS='|' read -r -a flips <<<"${model_flips[$model]}"
  for entry in "${flips[@]}"; do
    offset=${entry%%:*}
    [ "$offset" = half ] && offset=$((size / 2))
    [ "$offset" = end ] && offset=$((size - 2))
    cp $model models/flip
    must flip models/flip "$offset"
    model_check "$model, flip byte $offset" "${entry#*:}" models/flip "$model"
  done
done
model_check "an IDX file" "good/$images: $not_a_model" good/$images
gzip -nc model.tqm >models/model.gz
model_check "a gzip file" "models/model.gz: $not_a_model" models/model.gz
echo "TINYQMDL but text" >models/text
model_check "text with the magic" "unknown model file version 1953849888" models/text
model_check "a folder" "models: not a regular file" models
model_check "missing" "models/no-such-model: no such file" models/no-such-model
model_check "input width differs from the images" \
  "model expects 25 inputs, but the images have 16 pixels" model5.tqm
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
model_check "dense 2^32 x 2^32" "dense 4294967295 -> 4294967295 needs 18446744069414584320 floats" \
  models/dense-huge
{ header 1; layer dense "le32 0; le32 10"; } | with_crc >models/dense-zero
model_check "dense with 0 inputs" "dense layer with 0 inputs and 10 outputs" models/dense-zero
{ header 1; layer dense "le32 16; le32 10; pattern 100 1"; } | with_crc >models/dense-short
model_check "dense payload shorter than its shapes" "dense 16 -> 10 needs 170 floats, only 100 bytes remain" \
  models/dense-short
{ header 1; layer relu "true"; } | with_crc >models/relu-only
model_check "relu only" "model has no layer of fixed width" models/relu-only
{ header 1; layer conv2d "le32 1"; } | with_crc >models/foreign-kind
model_check "unknown layer kind" 'unknown layer kind "conv2d"' models/foreign-kind
{ header 1; layer quantized_dense "le32 4294967295; le32 4294967295; pattern 64 7"; } |
  with_crc >models/qhuge
model_check "quantized_dense 2^32 x 2^32" "unknown quantization scheme 11" models/qhuge
{ header 1; layer quantized_dense "pattern 200 13"; } | with_crc >models/qjunk
model_check "quantized_dense with a junk payload" "unknown quantization scheme 115" models/qjunk
{ header 4000000000; } | with_crc >models/many-layers
model_check "4e9 layers claimed" "4000000000 layers cannot fit in 4 bytes" models/many-layers
{ header 1; le32 5; printf dense; le64 $((1 << 62)); } | with_crc >models/huge-payload
model_check "payload length 2^62" "declares 4611686018427387904 payload bytes, 4 remain" \
  models/huge-payload

# safetensors: an exported model, broken; the good file is the export itself.
st_size=$(stat -c %s model.safetensors)
st_check() { model_check "$1" "$2" "$3" model.safetensors; }
head -c $((st_size / 2)) model.safetensors >models/st-half
st_check "safetensors cut in half" "lie outside the data buffer" models/st-half
head -c -1 model.safetensors >models/st-cut1
# The data buffer is what follows the 8-byte size and the header it gives.
st_header=$(od -An -tu8 -N8 model.safetensors | tr -d ' ')
st_check "safetensors, last byte cut" \
  "lie outside the data buffer of $((st_size - 8 - st_header - 1)) bytes" \
  models/st-cut1
cp model.safetensors models/st-long
echo x >>models/st-long
st_check "safetensors, trailing byte" "at the end belong to no tensor" models/st-long
declare -A st_flip_fragment=(
  [0]="JSON: unterminated string"
  [7]="models/st-flip: $not_a_model"
  [8]="models/st-flip: $not_a_model"
  [9]="JSON: expected a string key in object"
  [20]="JSON: invalid UTF-8 lead byte at byte 20"
  [40]="JSON: invalid UTF-8 lead byte at byte 40"
)
for offset in 0 7 8 9 20 40; do
  cp model.safetensors models/st-flip
  must flip models/st-flip "$offset"
  st_check "safetensors, flip byte $offset" "${st_flip_fragment[$offset]}" models/st-flip
done
# Non-finite parameters, everything else intact (the CRC rewritten): refused
# naming the layer, the tensor and the index. In model.tqm (version 2) layer
# 0's payload starts at byte 16 + 9 + 8; its weight [out, in] data at 75, after
# the counts, the name "weight", the dtype "F32", the rank and two extents.
put_f32() {  # FILE OFFSET BITS: the float with these bits, little-endian, at OFFSET
  bytes $(($3 & 255)) $((($3 >> 8) & 255)) $((($3 >> 16) & 255)) $((($3 >> 24) & 255)) |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
renew_crc() { head -c -4 "$1" | with_crc >"$1.crc" && mv "$1.crc" "$1"; }
dense_out=$(od -An -tu8 -j 59 -N8 model.tqm | tr -d ' ')
dense_in=$(od -An -tu8 -j 67 -N8 model.tqm | tr -d ' ')
cp model.tqm models/nan-weight
must put_f32 models/nan-weight $((75 + 4 * 3)) $((0x7fc00000))
must renew_crc models/nan-weight
model_check "a NaN weight (CRC valid)" 'layer 0 (dense): tensor "weight" [0, 3] is NaN' \
  models/nan-weight
cp model.tqm models/inf-bias
# The bias data follows the weights, the name "bias", "F32", the rank and one extent.
must put_f32 models/inf-bias $((75 + 4 * dense_out * dense_in + 24 + 4)) $((0xff800000))
must renew_crc models/inf-bias
model_check "an infinite bias (CRC valid)" 'layer 0 (dense): tensor "bias" [1] is -infinity' \
  models/inf-bias
# safetensors places F32 tensors by name: "0.bias" first in the data buffer.
cp model.safetensors models/st-nan
must put_f32 models/st-nan $((8 + st_header)) $((0x7fc00000))
st_check "safetensors, a NaN bias" 'layer 0 (dense): tensor "bias" [0] is NaN' models/st-nan
{ le64 $((1 << 40)); printf '{}'; } >models/st-huge-header
st_check "safetensors header of 1 TiB" "models/st-huge-header: $not_a_model" models/st-huge-header
{ le64 2; printf '{}'; } >models/st-empty
st_check "safetensors with no tensors" "models/st-empty: no tensors" models/st-empty
json='{"0.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}'
{ le64 ${#json}; printf '%s' "$json"; pattern 16 1; } >models/st-huge-shape
st_check "safetensors shape 2^32 x 2^32" "shape [4294967296, 4294967296] of F32 overflows 64 bits" \
  models/st-huge-shape

# --- options -----------------------------------------------------------------

# train_mnist's options in a case: these, with one changed, added or dropped.
train_base=(--data good --epochs 1 --hidden 4 --threads 2 --out out/model.tqm
  --report out/report.json)
# with_option OPTION VALUE: train_base with OPTION set to VALUE (replacing
# its value there, else appended), into the array `args`.
with_option() {
  args=()
  local i replaced=false
  for ((i = 0; i < ${#train_base[@]}; i += 2)); do
    if [ "${train_base[i]}" = "$1" ]; then
      args+=("$1" "$2")
      replaced=true
    else
      args+=("${train_base[i]}" "${train_base[i + 1]}")
    fi
  done
  $replaced || args+=("$1" "$2")
}
# train_option NAME FRAGMENT OPTION BAD_VALUE GOOD_VALUE
train_option() {
  with_option "$3" "$4"
  bad=("$train" "${args[@]}")
  with_option "$3" "$5"
  good=("$train" "${args[@]}")
  expect "train_mnist $1" "$2"
}
# train_extra NAME FRAGMENT ARG...: train_base plus the bad arguments.
train_extra() {
  local name=$1 fragment=$2
  shift 2
  bad=("$train" "${train_base[@]}" "$@")
  good=("$train" "${train_base[@]}")
  expect "train_mnist $name" "$fragment"
}
train_extra "unknown option" "unknown option --bogus" --bogus 1
train_extra "stray argument" "unexpected argument 'stray'" stray
train_extra "missing value" "option --batch needs a value" --batch
# Quantization-aware training: its options need --qat-bits, which takes 1.58
# (ternary) or 2..8; group sizes are powers of two.
for option in --qat-scheme --qat-granularity --qat-group-size --qat-grid; do
  train_extra "$option without --qat-bits" "$option needs --qat-bits" "$option" channel
done
train_extra "--qat-learn-scale without --qat-bits" "--qat-learn-scale needs --qat-bits" \
  --qat-learn-scale
train_extra "--qat-plot without --qat-bits" "--qat-plot needs --qat-bits" --qat-plot out/qat.svg
for value in 1 9 0 1.5 x; do
  train_option "--qat-bits '$value'" \
    "option --qat-bits: expected 1.58 (ternary) or a whole number from 2 to 8, found '$value'" \
    --qat-bits "$value" 2
done
bad=("$train" "${train_base[@]}" --qat-bits 2 --qat-granularity group --qat-group-size 48)
good=("$train" "${train_base[@]}" --qat-bits 2 --qat-granularity group --qat-group-size 32)
expect "train_mnist --qat-group-size 48" \
  "option --qat-group-size: expected a power of two >= 16, found 48"
bad=("$train" "${train_base[@]}" --qat-bits 1.58 --qat-scheme symmetric)
good=("$train" "${train_base[@]}" --qat-bits 1.58 --qat-scheme ternary)
expect "train_mnist --qat-bits 1.58 --qat-scheme symmetric" \
  "--qat-bits 1.58 is the ternary scheme, found --qat-scheme symmetric"
bad=("$train" "${train_base[@]}" --qat-bits 3 --qat-scheme ternary)
good=("$train" "${train_base[@]}" --qat-bits 3 --qat-scheme symmetric)
expect "train_mnist --qat-bits 3 --qat-scheme ternary" \
  "--qat-scheme ternary needs --qat-bits 1.58, found '3'"
bad=("$train" "${train_base[@]}" --lr 0.1 --lr 0.2)
good=("$train" "${train_base[@]}" --lr 0.1)
expect "train_mnist given twice" "option --lr given twice"
train_extra "--help with a value" "option --help takes no value" --help=1
expected_range() { echo "option $1: expected $2, found '$3'"; }
# option|good value|what the message expects|bad values (space-separated,
# "''" for the empty string)
for spec in \
  "--batch|8|a whole number from 1 to 65536|abc -1 0 1.5 '' 99999999999999999999 65537" \
  "--lr|0.05|a number from 0 to 100|abc -1 1e999 nan inf -0.5 1000 ''" \
  "--momentum|0.9|a number from 0 to 0.999|1 -0.1 x 2" \
  "--weight-decay|0.0001|a number from 0 to 1|-1 2 nan" \
  "--epochs|1|a whole number from 1 to 10000|0 -1 x 1e3 99999999999" \
  "--shift|1|a whole number from 0 to 8|9 -1 x" \
  "--seed|3|a whole number from 0 to 18446744073709551615|-1 x 18446744073709551616" \
  "--threads|2|a whole number from 1 to 256|0 257 x"; do
  IFS='|' read -r option good_value expected values <<<"$spec"
  eval "values=($values)"
  for value in "${values[@]}"; do
    if [ -z "$value" ]; then
      fragment="option $option has an empty value"
    else
      fragment=$(expected_range "$option" "$expected" "$value")
    fi
    train_option "$option '$value'" "$fragment" "$option" "$value" "$good_value"
  done
done
for value in 0 -4 4,,4 4, ,4 abc 99999999 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1; do
  train_option "--hidden '$value'" \
    "option --hidden: expected a comma-separated list of at most 16 whole numbers from 1 to 65536, found '$value'" \
    --hidden "$value" 4
done
train_option "--hidden '65536,65536'" \
  "option --hidden: the MLP would have 4296802314 parameters, more than the limit of 268435456" \
  --hidden 65536,65536 4
train_option "--hidden ''" "option --hidden has an empty value" --hidden "" 4
train_option "--schedule unknown" "option --schedule: expected one of constant|step|cosine, found 'linear'" \
  --schedule linear cosine
train_option "--out in a missing folder" "out/missing/model.tqm: folder out/missing does not exist" --out out/missing/model.tqm out/model.tqm
train_option "--out is a folder" "out: is a folder, expected a file" --out out out/model.tqm
dir=$(variant "out is input")
train_base=(--data "$dir" --epochs 1 --hidden 4 --threads 2 --out out/model.tqm --report out/report.json)
train_option "--out is the training images" "--out $dir/$images is the --data file" \
  --out "$dir/$images" out/model.tqm
train_option "--report is the test labels" "--report $dir/$test_labels is the --data file" \
  --report "$dir/$test_labels" out/report.json
if ! cmp -s "$dir/$images" good/$images || ! cmp -s "$dir/$test_labels" good/$test_labels; then
  echo "FAIL: train_mnist overwrote its own input"
  failed=$((failed + 1))
fi
train_base=(--data good --epochs 50 --hidden 32 --weight-decay 1 --schedule constant --threads 2
  --out out/model.tqm --report out/report.json)
train_option "diverging (--lr 100 --weight-decay 1)" "training diverged: the loss became NaN" \
  --lr 100 0.01

# quantize_option NAME FRAGMENT ARG...: quantize_eval with quantize_base plus
# `context` (options the case needs) plus the bad arguments; the good command
# has `fix` in place of the bad arguments.
quantize_base=(--model model.tqm --data good --threads 2)
quantize_case() {
  local name=$1 fragment=$2
  shift 2
  bad=("$quantize" "${quantize_base[@]}" "${context[@]}" "$@")
  good=("$quantize" "${quantize_base[@]}" "${context[@]}" "${fix[@]}")
  expect "quantize_eval $name" "$fragment"
}
context=() fix=()
bad=("$quantize" --data good --threads 2)
good=("$quantize" --model model.tqm --data good --threads 2)
expect "quantize_eval without --model" "option --model is required"
quantize_case "unknown option" "unknown option --bits-per-weight" --bits-per-weight 4
quantize_case "missing value" "option --bits needs a value" --bits
context=(--scheme symmetric) fix=(--bits 4)
quantize_case "given twice" "option --bits given twice" --bits 4 --bits 8
for value in 1 9 0 -8 x 4.5 ''; do
  fragment="option --bits: expected a whole number from 2 to 8, found '$value'"
  [ -z "$value" ] && fragment="option --bits has an empty value"
  quantize_case "--bits '$value'" "$fragment" --bits "$value"
done
context=(--scheme symmetric --granularity group) fix=(--group-size 32)
for value in 0 15 17 48 -16 x 99999999999; do
  fragment="option --group-size: expected a whole number from 16 to 1048576, found '$value'"
  [ "$value" = 17 ] || [ "$value" = 48 ] &&
    fragment="option --group-size: expected a power of two >= 16, found '$value'"
  quantize_case "--group-size '$value'" "$fragment" --group-size "$value"
done
context=() fix=(--scheme symmetric)
quantize_case "--scheme unknown" "option --scheme: expected one of asymmetric|symmetric|ternary, found 'affine'" \
  --scheme affine
context=(--scheme ternary) fix=(--bits 1.58)
quantize_case "--scheme ternary --bits 4" "option --bits: the ternary scheme has 1.58 bits, found '4'" \
  --bits 4
context=() fix=()
context=(--scheme symmetric) fix=(--granularity channel)
quantize_case "--granularity unknown" \
  "option --granularity: expected one of tensor|channel|group, found 'row'" --granularity row
context=(--scheme symmetric) fix=(--grid mse)
quantize_case "--grid unknown" \
  "option --grid: expected one of minmax|zero-exact|search|mse, found 'best'" --grid best
context=(--scheme symmetric --out out/qmodel.tqm) fix=(--method awq+gptq)
quantize_case "--method unknown" \
  "option --method: expected one of rtn|awq|gptq|awq+gptq, found 'obq'" --method obq
context=(--scheme symmetric --method gptq --out out/qmodel.tqm) fix=(--calibration 8)
for value in 0 x -1 41; do
  fragment="option --calibration: expected a whole number from 1 to 1073741824, found '$value'"
  [ "$value" = 41 ] && fragment="option --calibration: expected 1 to 40 (the training set), found '41'"
  quantize_case "--calibration '$value'" "$fragment" --calibration "$value"
done
context=(--scheme symmetric --method gptq --out out/qmodel.tqm) fix=(--damp 0.1)
for value in -1 nan inf x; do
  quantize_case "--damp '$value'" "option --damp: expected a number from 0 to 1000000, found '$value'" \
    --damp "$value"
done
context=(--scheme symmetric --method gptq --out out/qmodel.tqm) fix=(--refits 2)
for value in -1 x 101; do
  quantize_case "--refits '$value'" \
    "option --refits: expected a whole number from 0 to 100, found '$value'" --refits "$value"
done
context=(--scheme symmetric --refits 2 --out out/qmodel.tqm) fix=(--method gptq)
quantize_case "--refits without GPTQ" \
  "option --refits: refits GPTQ's grids, so it needs --method gptq or awq+gptq, found 'rtn'" \
  --method rtn
context=(--scheme symmetric --out out/qmodel.tqm) fix=(--tune-epochs 1)
for value in -1 x 10001; do
  quantize_case "--tune-epochs '$value'" \
    "option --tune-epochs: expected a whole number from 0 to 10000, found '$value'" \
    --tune-epochs "$value"
done
context=(--scheme symmetric --tune-epochs 1 --out out/qmodel.tqm) fix=(--tune-lr 0.01)
for value in nan x 2 -1; do
  quantize_case "--tune-lr '$value'" \
    "option --tune-lr: expected a number from 0 to 1, found '$value'" --tune-lr "$value"
done
quantize_case "--tune-lr '0'" \
  "option --tune-lr: expected a number above 0 (and at most 1), found '0'" --tune-lr 0
context=(--scheme symmetric --out out/qmodel.tqm) fix=(--tune-epochs 1 --tune-lr 0.01)
quantize_case "--tune-lr without --tune-epochs" \
  "option --tune-lr: it sets the rate of --tune-epochs, which is 0" --tune-lr 0.01
# A budget under 2 bits per weight (or not a number) is a usage error, and
# nothing is written.
context=(--out out/qmodel.tqm --report out/qreport.json) fix=(--budget 32)
for value in 1.9 0 -3 nan inf x 33; do
  quantize_case "--budget '$value'" \
    "option --budget: expected a number from 2 to 32, found '$value'" --budget "$value"
done
context=(--scheme symmetric --out out/qmodel.tqm) fix=(--keep-float 0)
quantize_case "--keep-float '99'" "layer index 99 is out of range (the model has 3 layers, 0..2)" \
  --keep-float 99
quantize_case "--keep-float '1'" "layer 1 is ReLU, which has no quantized form" --keep-float 1
for value in x -1; do
  quantize_case "--keep-float '$value'" \
    "option --keep-float: expected a comma-separated list of at most 16 whole numbers from 0 to 1024, found '$value'" \
    --keep-float "$value"
done
context=(--out out/qmodel.tqm) fix=(--scheme symmetric)
quantize_case "--out without --scheme" "--out needs --scheme" # the bad thing: no --scheme
context=(--scheme symmetric) fix=(--out out/qmodel.tqm)
quantize_case "--out is the model" "--out model.tqm is the --model file" --out model.tqm
quantize_case "--out in a missing folder" "out/missing/q.tqm: folder out/missing does not exist" \
  --out out/missing/q.tqm
quantize_case "--out is a folder" "out: is a folder, expected a file" --out out
context=() fix=(--report out/qreport.json)
quantize_case "--report is the model" "--report model.tqm is the --model file" --report model.tqm
context=() fix=(--plot out/qplot.svg)
quantize_case "--plot is the model" "--plot ./model.tqm is the --model file" --plot ./model.tqm
# On a quantized model: scheme options and --plot need a float model.
quantize_base=(--model qmodel.tqm --data good --threads 2)
context=() fix=()
quantize_case "scheme options on a quantized model" \
  "the model is already quantized; give no scheme options" --scheme symmetric
quantize_case "--plot on a quantized model" "--plot needs a float model" --plot out/qplot.svg
quantize_base=(--model model.tqm --data good)
context=() fix=(--threads 2)
for value in 0 257 x; do
  quantize_case "--threads '$value'" \
    "option --threads: expected a whole number from 1 to 256, found '$value'" --threads "$value"
done

# Static int8 (--activations): calibration counts, observers, models it
# cannot quantize, and a saved static model broken anywhere.
quantize_base=(--model model.tqm --data good --threads 2)
context=(--activations minmax --out out/qmodel.tqm --export-c out/smodel.c) fix=(--calibration 40)
for value in 0 x -1; do
  quantize_case "--calibration '$value'" \
    "option --calibration: expected a whole number from 1 to 1073741824, found '$value'" \
    --calibration "$value"
done
quantize_case "--calibration beyond the training images" \
  "option --calibration: expected 1 to 40 (the training set), found '41'" \
  --calibration 41
context=(--out out/qmodel.tqm) fix=(--activations entropy)
quantize_case "--activations unknown" "option --activations: expected" --activations kl
context=(--activations mse) fix=(--scheme symmetric)
quantize_case "--activations with asymmetric weights" \
  "option --scheme: static int8 weights are symmetric, found 'asymmetric'" --scheme asymmetric
context=(--activations mse) fix=(--granularity tensor)
quantize_case "--activations with group weights" \
  "option --granularity: expected one of tensor|channel, found 'group'" --granularity group
context=(--activations minmax --out out/qmodel.tqm) fix=()
quantize_case "--bias-correction with --activations" \
  "option --bias-correction: not used by static int8 (--activations)" --bias-correction
quantize_case "--refits with --activations" \
  "option --refits: not used by static int8 (--activations)" --refits 1
context=() fix=(--activations minmax --export-c out/smodel.c)
quantize_case "--export-c without --activations" "--export-c needs --activations" \
  --export-c out/smodel.c
context=(--activations minmax) fix=(--export-c out/smodel.c)
quantize_case "--export-c in a missing folder" "out/missing/m.c: folder out/missing does not exist" \
  --export-c out/missing/m.c
quantize_case "--export-c is the model" "--export-c model.tqm is the --model file" \
  --export-c model.tqm
# --plot-activations: needs --activations, draws a hidden Dense only.
context=() fix=(--activations minmax --plot-activations out/aplot.svg)
quantize_case "--plot-activations without --activations" "--plot-activations needs --activations" \
  --plot-activations out/aplot.svg
context=(--activations minmax) fix=(--plot-activations out/aplot.svg --plot-layer 0)
quantize_case "--plot-layer without --plot-activations" "--plot-layer needs --plot-activations" \
  --plot-layer 0
context=(--activations minmax) fix=(--plot-activations out/aplot.svg)
quantize_case "--plot-activations in a missing folder" \
  "out/missing/a.svg: folder out/missing does not exist" --plot-activations out/missing/a.svg
quantize_case "--plot-activations is the model" "--plot-activations model.tqm is the --model file" \
  --plot-activations model.tqm
context=(--activations minmax,entropy --plot-activations out/aplot.svg) fix=(--plot-layer 0)
for value in 1 2 3 x -1; do
  case $value in
    1 | 2) fragment="option --plot-layer: layer $value is" ;;
    3) fragment="option --plot-layer: layer 3 is out of range (the model has 3 layers, 0..2)" ;;
    *) fragment="option --plot-layer: expected a whole number from 0 to 1048576, found '$value'" ;;
  esac
  [ "$value" = 1 ] && fragment+=" ReLU, whose output no observer sees (expected a hidden Dense: 0)"
  [ "$value" = 2 ] && fragment+=" Dense(4 -> 10), whose output no observer sees"
  quantize_case "--plot-layer '$value'" "$fragment" --plot-layer "$value"
done
bad=("$quantize" --model models/relu-only --data good --threads 2 --activations minmax)
good=("$quantize" --model model.tqm --data good --threads 2 --activations minmax)
expect "quantize_eval --activations on a model with no Dense layer" "no Dense layer"
quantize_base=(--model smodel.tqm --data good --threads 2)
context=() fix=()
quantize_case "--activations on a static model" \
  "the model is already quantized; give no scheme options" --activations minmax
# smodel.tqm broken at every 97th byte and in its last bytes: each flip is
# refused (mostly by the checksum) and nothing is written.
s_size=$(stat -c %s smodel.tqm)
for ((offset = 0; offset < s_size; offset += 97)); do
  cp smodel.tqm models/sflip
  must flip models/sflip "$offset"
  bad=("$quantize" --model models/sflip --data good --threads 2 --export-c out/smodel.c)
  good=("$quantize" --model smodel.tqm --data good --threads 2 --export-c out/smodel.c)
  expect "static model, flip byte $offset" "models/sflip"
done
head -c -5 smodel.tqm >models/scut
bad=("$quantize" --model models/scut --data good --threads 2 --export-c out/smodel.c)
expect "static model, last bytes cut" "models/scut"

# --- a write that fails ------------------------------------------------------
# With the file-size limit at 0 every write to a regular file fails (EFBIG):
# the earlier model must stay, and no temporary may be left behind. The good
# command is the same without the limit.
bad=(bash -c 'ulimit -f 0 && exec "$@"' - "$train" "${train_args[@]}" --data good)
good=(bash -c 'exec "$@"' - "$train" "${train_args[@]}" --data good)
expect "train_mnist whose write fails (ulimit -f 0)" "out/model.tqm: write failed: File too large"
quantize_write=("$quantize" --model model.tqm --data good --threads 2 --scheme symmetric
  --out out/qmodel.tqm --report out/qreport.json)
bad=(bash -c 'ulimit -f 0 && exec "$@"' - "${quantize_write[@]}")
good=(bash -c 'exec "$@"' - "${quantize_write[@]}")
expect "quantize_eval whose write fails (ulimit -f 0)" "out/qmodel.tqm: write failed: File too large"
quantize_write=("$quantize" --model model.tqm --data good --threads 2 --activations minmax
  --plot-activations out/aplot.svg)
bad=(bash -c 'ulimit -f 0 && exec "$@"' - "${quantize_write[@]}")
good=(bash -c 'exec "$@"' - "${quantize_write[@]}")
expect "quantize_eval --plot-activations whose write fails (ulimit -f 0)" \
  "out/aplot.svg: write failed: File too large"

if [ "$cases" -ne "$expected_cases" ]; then
  echo "FAIL: $cases cases ran, expected $expected_cases (a case was lost or added: update expected_cases)"
  failed=$((failed + 1))
fi
echo "$cases cases: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
