#!/usr/bin/env bash
# Runs the README's commands as a new user would: in a fresh clone of this
# repository, in a temporary folder with nothing beside it (no ../shared), with
# no data but what the commands themselves fetch or install.
#   bash apps/check_readme.sh [--quick]      (from anywhere in the repository)
#
# The commands are every line of the README's ```sh blocks, in order (a line
# ending in a backslash continues on the next). Each runs in its own bash, from
# the clone's top folder, with `set -euo pipefail`; all run even when one
# fails, and the exit status is 1 if any failed. The clone is of HEAD, so
# commit what you want checked.
#
# --quick (CI uses it) shortens what would take long, and only that:
#   train_mnist and torch_generalization.py commands get `--epochs 1` appended
#   (the last --epochs wins in both);
#   libFuzzer's -max_total_time=N becomes 10 seconds;
#   `bash apps/test.sh` is not run again: CI's step 2 runs exactly it, in a
#   fresh clone of its own (reported as skipped), and for the same reason
#   `&& meson test -C build` is dropped from the build-by-hand command;
#   apps/quickstart.sh trains for one epoch (QUICKSTART_EPOCHS=1).
# A command whose line ends in `# needs the internet` runs only when the
# default MNIST mirror answers; otherwise it is reported as skipped
# (tests/test_fetch_mnist.sh covers fetch_mnist.sh offline).
#
# Environment of the commands: TINYQ_DATA is unset and XDG_DATA_HOME points to
# an empty temporary folder, so nothing a developer downloaded earlier is used.
set -uo pipefail

quick=false
for arg in "$@"; do
  case $arg in
  --quick) quick=true ;;
  *)
    echo "check_readme: error: unknown option '$arg' (usage: check_readme.sh [--quick])" >&2
    exit 2
    ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tinyq-readme.XXXXXX")
data_home=$(mktemp -d "${TMPDIR:-/tmp}/tinyq-readme-data.XXXXXX")
trap 'rm -rf "$work" "$data_home"' EXIT
clone=$work/tinyq
if repository=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null); then
  git clone --quiet "$repository" "$clone" || exit 1
  echo "check_readme: fresh clone of $(git -C "$clone" rev-parse --short HEAD) in $clone"
else
  # Not a git checkout (a source archive): copy the sources, no build output.
  repository=$(cd "$(dirname "$0")/.." && pwd)
  mkdir "$clone" &&
    tar -C "$repository" --exclude='./build*' --exclude=./corpus -cf - . | tar -C "$clone" -xf - ||
    exit 1
  echo "check_readme: copy of $repository (not a git checkout) in $clone"
fi

# The README's ```sh blocks, one command per element.
commands=()
in_block=false
command=""
while IFS= read -r line; do
  line="${line#"${line%%[![:space:]]*}"}" # blocks may be indented in a list item
  if ! $in_block; then
    [[ $line == '```sh' ]] && in_block=true
    continue
  fi
  if [[ $line == '```' ]]; then
    in_block=false
    continue
  fi
  if [[ $line == *\\ ]]; then
    command+="${line%\\} "
    continue
  fi
  command+=$line
  [[ $command =~ ^[[:space:]]*(#.*)?$ ]] || commands+=("$command")
  command=""
done <"$clone/README.md"
if [ ${#commands[@]} -eq 0 ]; then
  echo "check_readme: error: README.md has no \`\`\`sh blocks" >&2
  exit 1
fi

online=false
if curl --silent --head --connect-timeout 10 --max-time 20 \
  https://ossci-datasets.s3.amazonaws.com/mnist/ >/dev/null 2>&1; then
  online=true
fi

failures=()
skipped=0
start=$(date +%s)
for command in "${commands[@]}"; do
  if [[ $command =~ \#[[:space:]]*needs\ the\ internet[[:space:]]*$ ]] && ! $online; then
    echo "--- skipped (offline): $command"
    skipped=$((skipped + 1))
    continue
  fi
  if $quick && [[ $command =~ ^bash\ apps/test\.sh([[:space:]]|$) ]]; then
    echo "--- skipped (--quick: CI's step 2 runs it): $command"
    skipped=$((skipped + 1))
    continue
  fi
  run=$command
  if $quick; then
    # Before any trailing comment: the last --epochs given wins.
    if [[ $run == *train_mnist* || $run == *torch_generalization.py* ]]; then
      if [[ $run =~ ^(.*[^[:space:]])([[:space:]]+#.*)$ ]]; then
        run="${BASH_REMATCH[1]} --epochs 1${BASH_REMATCH[2]}"
      else
        run+=" --epochs 1"
      fi
    fi
    run=$(sed -E 's/-max_total_time=[0-9]+/-max_total_time=10/g' <<<"$run")
    run=$(sed -E 's/[[:space:]]*&&[[:space:]]*meson test -C build([[:space:]]*$|[[:space:]]+#)/\1/' <<<"$run")
  fi
  printf '\n--- $ %s\n' "$run"
  command_start=$(date +%s)
  # CCACHE_NOHASHDIR: builds with -g (the fuzz build) may reuse objects
  # compiled in another folder; a throw-away clone needs no debug paths.
  quickstart_epochs=""
  if $quick; then quickstart_epochs=1; fi
  (cd "$clone" && unset TINYQ_DATA && export XDG_DATA_HOME=$data_home CCACHE_NOHASHDIR=1 &&
    if [ -n "$quickstart_epochs" ]; then export QUICKSTART_EPOCHS=$quickstart_epochs; fi &&
    bash -euo pipefail -c "$run")
  status=$?
  echo "--- status $status, $(($(date +%s) - command_start))s"
  [ $status -eq 0 ] || failures+=("$command")
done

printf '\ncheck_readme: %d commands, %d failed, %d skipped, %ds\n' ${#commands[@]} \
  ${#failures[@]} $skipped $(($(date +%s) - start))
for command in "${failures[@]}"; do echo "FAILED: $command"; done
[ ${#failures[@]} -eq 0 ]
