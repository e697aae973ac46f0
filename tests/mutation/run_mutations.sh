#!/usr/bin/env bash
# Mutation check: are the tests able to catch real bugs?
#
#   bash tests/mutation/run_mutations.sh [LIST] [BUILD_DIR]
#
# LIST (default: mutations.txt beside this script) holds small planted bugs,
# each a file, an exact text and its replacement. For each one, one at a
# time: the text is replaced (it must occur exactly once, else that
# mutation is an ERROR), the project is rebuilt incrementally in BUILD_DIR
# (default: build-mutation, kept between runs so rebuilds stay cheap), and
# `meson test` runs. A failing suite KILLED the mutant; a passing one let it
# SURVIVE, which means a test is missing. The file is restored afterwards,
# also on Ctrl-C or an error. Exits 0 only when every mutant was killed.
#
# It edits the tree it lives in while it runs: to keep working meanwhile,
# run it from a copy (git archive HEAD | tar -x -C /tmp/tinyq-mut).
# CPU-heavy (a rebuild and the whole suite per mutation): not run by CI.
set -uo pipefail
shopt -u patsub_replacement 2>/dev/null  # a "&" in a replacement stays a "&"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
list=$(realpath "${1:-$here/mutations.txt}")
build=${2:-build-mutation}
cd "$top" || exit 2

backup_dir=$(mktemp -d "${TMPDIR:-/tmp}/tinyq_mutation.XXXXXX")
mutated=""  # the file currently changed, if any
restore() {
  if [ -n "$mutated" ]; then
    # Copied back (not moved) so its time stamp is new: ninja then rebuilds
    # it for the next mutation instead of keeping the mutant's object file.
    cat "$backup_dir/original" >"$mutated"
    mutated=""
  fi
}
trap 'restore; rm -rf "$backup_dir"' EXIT
trap 'echo "interrupted: restoring $mutated" >&2; exit 130' INT TERM

# --- the list ----------------------------------------------------------------
names=() files=() froms=() tos=()
parse_error() {
  echo "error: $list:$1: $2" >&2
  exit 2
}
line_no=0
while IFS= read -r line || [ -n "$line" ]; do
  line_no=$((line_no + 1))
  case $line in
    '' | '#'*) ;;
    '['*']') names+=("${line:1:${#line}-2}") files+=("") froms+=("") tos+=("") ;;
    'file: '* | 'from: '* | 'to: '*)
      [ ${#names[@]} -gt 0 ] || parse_error $line_no "field before the first [name]"
      i=$((${#names[@]} - 1))
      case $line in
        'file: '*) files[i]=${line#file: } ;;
        'from: '*) froms[i]=${line#from: } ;;
        'to: '*) tos[i]=${line#to: } ;;
      esac
      ;;
    *) parse_error $line_no "not a [name], file:, from: or to: line: $line" ;;
  esac
done <"$list"
[ ${#names[@]} -gt 0 ] || parse_error $line_no "no mutations"

# --- the baseline: the suite must pass unmutated -----------------------------
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release >/dev/null || exit 2
fi
echo "baseline: building and testing the unmutated tree in $build"
if ! meson compile -C "$build" >"$backup_dir/log" 2>&1 ||
  ! meson test -C "$build" >>"$backup_dir/log" 2>&1; then
  tail -n 30 "$backup_dir/log"
  echo "error: the suite fails without any mutation; fix that first" >&2
  exit 2
fi

# Names of the tests that failed in the last `meson test`.
failed_tests() {
  awk -F'"name": "' '/"result": "(FAIL|TIMEOUT|ERROR)"/ {split($2, a, "\""); printf "%s, ", a[1]}' \
    "$build/meson-logs/testlog.json" | sed 's/, $//'
}

# --- one mutation at a time ----------------------------------------------------
killed=0 survived=0 errors=0
report=()
for i in "${!names[@]}"; do
  name=${names[i]} file=${files[i]} from=${froms[i]} to=${tos[i]}
  label="$name ($file)"
  if [ -z "$file" ] || [ -z "$from" ] || [ ! -f "$file" ]; then
    errors=$((errors + 1))
    report+=("ERROR     $label: missing file: or from:, or no such file")
    echo "${report[-1]}"
    continue
  fi
  content=$(cat "$file" && printf x)
  content=${content%x}
  # Count the occurrences of `from` (exact text, not a pattern).
  rest=$content count=0
  while [[ $rest == *"$from"* ]]; do
    rest=${rest#*"$from"}
    count=$((count + 1))
  done
  if [ "$count" -ne 1 ]; then
    errors=$((errors + 1))
    report+=("ERROR     $label: the text occurs $count times, expected exactly once: $from")
    echo "${report[-1]}"
    continue
  fi
  cp "$file" "$backup_dir/original"
  mutated=$file
  printf '%s' "${content/"$from"/"$to"}" >"$file"
  if ! meson compile -C "$build" >"$backup_dir/log" 2>&1; then
    result="ERROR     $label: the mutant does not compile"
    errors=$((errors + 1))
  elif meson test -C "$build" >"$backup_dir/log" 2>&1; then
    result="SURVIVED  $label"
    survived=$((survived + 1))
  else
    result="KILLED    $label, by: $(failed_tests)"
    killed=$((killed + 1))
  fi
  restore
  report+=("$result")
  echo "$result"
done

# Leave the build matching the restored sources.
meson compile -C "$build" >/dev/null 2>&1
echo
echo "=== mutation report: ${#names[@]} mutations, $killed killed, $survived survived, $errors errors ==="
printf '%s\n' "${report[@]}"
[ "$survived" -eq 0 ] && [ "$errors" -eq 0 ]
