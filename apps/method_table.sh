#!/usr/bin/env bash
# The README's method table: for each format (scheme / granularity) and bit
# width, every method's accuracy, one quantize_eval run each, and the best.
#   bash apps/method_table.sh MODEL DATA_DIR [OUT.tsv]
# Prints a markdown table: per format and bits, the best method's accuracy
# and its name, with round-to-nearest on the min-max grid (the seed's method)
# beside it; OUT.tsv (default build/runs/method_table.tsv) keeps every run:
# format, bits, method, accuracy, and the quantize_eval arguments behind it.
# About 190 runs of a few seconds each (25 minutes on a busy 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
data=$2
out=${3:-build/runs/method_table.tsv}
mkdir -p "$(dirname "$out")"
quantize_eval=build/apps/quantize_eval
report=$(mktemp "${TMPDIR:-/tmp}/tinyq-method-table.XXXXXX.json")
trap 'rm -f "$report"' EXIT

formats=("asymmetric tensor" "asymmetric channel" "asymmetric group --group-size 32"
  "symmetric channel")
methods=("--method rtn --grid minmax" "--method rtn --grid zero-exact" "--method rtn --grid search"
  "--method gptq --grid zero-exact" "--method gptq --grid zero-exact --act-order"
  "--method gptq --grid search --act-order"
  "--method awq+gptq --grid zero-exact --act-order"
  "--method gptq --grid zero-exact --act-order --refits 3"
  "--method awq+gptq --grid zero-exact --act-order --refits 3"
  "--method gptq --grid zero-exact --act-order --refits 3 --damp 0.05"
  "--method gptq --grid search --act-order --calibration 8192 --tune-epochs 5"
  "--method gptq --grid zero-exact --act-order --refits 3 --damp 0.05 --calibration 8192 --tune-epochs 5")

accuracy() { sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' "$report" | sed -n 2p; }

printf 'format\tbits\tmethod\taccuracy\targuments\n' >"$out"
for format in "${formats[@]}"; do
  read -r scheme granularity extra <<<"$format"
  for bits in 2 3 4 8; do
    for method in "${methods[@]}"; do
      # A symmetric grid has 0 as a level already: zero-exact is minmax there.
      [ "$scheme" = symmetric ] && [[ $method == *zero-exact* ]] && [[ $method == *rtn* ]] && continue
      args="--scheme $scheme --granularity $granularity ${extra:-} --bits $bits $method"
      # shellcheck disable=SC2086 # the arguments are words
      "$quantize_eval" --model "$model" --data "$data" $args --report "$report" >/dev/null
      name=$(sed -E 's/--method ([^ ]+) --grid ([^ ]+)( --act-order)?/\1\/\2\3/; s/ --act-order/, act-order/
        s/ --refits ([0-9]+)/, refits \1/; s/ --damp ([0-9.]+)/, damp \1/
        s/ --calibration ([0-9]+)/, calibration \1/; s/ --tune-epochs ([0-9]+)/, tune \1/' <<<"$method")
      printf '%s\t%s\t%s\t%s\t%s\n' "$scheme/$granularity${extra:+-${extra##* }}" "$bits" "$name" \
        "$(accuracy)" "$args" >>"$out"
    done
  done
done

# The markdown table: best method per format and bits, rtn/minmax beside it.
awk -F'\t' 'NR > 1 {
  key = $1 SUBSEP $2
  if (!(key in best) || $4 > best[key]) { best[key] = $4; name[key] = $3 }
  if ($3 == "rtn/minmax") base[key] = $4
  if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
}
END {
  print "| format | 2-bit | 3-bit | 4-bit | 8-bit |"
  print "| --- | --- | --- | --- | --- |"
  for (i = 1; i <= n; i++) {
    f = order[i]; line = "| " f
    split("2 3 4 8", widths, " ")
    for (j = 1; j <= 4; j++) {
      k = f SUBSEP widths[j]
      line = line sprintf(" | **%.2f** %s (rtn/minmax %.2f)", 100 * best[k], name[k], 100 * base[k])
    }
    print line " |"
  }
}' "$out"
