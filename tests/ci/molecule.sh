#!/usr/bin/env bash
# Run Molecule scenarios, MOLECULE_JOBS at a time (default 2: one per core of the CI machine).
# Each scenario has its own container, netns and addresses (molecule/*/molecule.yml), so two
# can run side by side; most of a scenario's time is spent waiting on podman and systemd in the
# container, not on a core. Each writes build/molecule/<scenario>.log; a failed scenario's log
# is printed whole, the others as one summary line each.
# usage: molecule.sh scenario...
set -uo pipefail
JOBS=${MOLECULE_JOBS:-2}
LOGS=${MOLECULE_LOGS:-build/molecule}
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.rc

run_one() {
  local s=$1 logs=$2 start rc
  start=$(date +%s)
  echo "=== molecule test -s $s: started"
  molecule test -s "$s" > "$logs/$s.log" 2>&1
  rc=$?
  echo "$rc $(( $(date +%s) - start ))" > "$logs/$s.rc"
  echo "=== molecule test -s $s: rc=$rc in $(( $(date +%s) - start )) s"
}
export -f run_one

printf '%s\n' "$@" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1" "$2"' _ {} "$LOGS"

failed=0
echo "=== Molecule summary (${JOBS} at a time)"
for s in "$@"; do
  read -r rc secs < "$LOGS/$s.rc" 2>/dev/null || { rc=missing; secs=-; }
  echo "    $s: rc=$rc ${secs} s"
  if [ "$rc" != 0 ]; then
    failed=1
    echo "=== $s failed; its log ($LOGS/$s.log):"
    cat "$LOGS/$s.log"
  fi
done
exit $failed
