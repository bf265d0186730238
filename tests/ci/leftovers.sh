#!/bin/bash
# leftovers.sh snapshot FILE | compare FILE
# A test run must leave the machine as it found it: nothing new in /tmp, and a git checkout
# whose `git status` is unchanged (build/ is ignored). .ci/run snapshots before `make test` and
# compares after; the comparison names every new /tmp entry and every new status line.
set -euo pipefail
cmd=${1:?usage: leftovers.sh snapshot FILE | compare FILE}; file=${2:?usage}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
state() {
  find /tmp -mindepth 1 -maxdepth 1 -printf 'tmp %f\n' | sort
  git -C "$ROOT" status --porcelain=v1 --untracked-files=all | sed 's/^/git /'
}
case "$cmd" in
snapshot) state > "$file" ;;
compare)
  new=$(comm -13 "$file" <(state) || true)
  if [ -n "$new" ]; then
    echo "the test run left these behind (new /tmp entries, or changes to the checkout):"
    echo "$new"
    exit 1
  fi
  echo "leftovers: none (/tmp and git status as before the run)" ;;
*) echo "usage: leftovers.sh snapshot FILE | compare FILE" >&2; exit 2 ;;
esac
