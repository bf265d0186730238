#!/bin/bash
# The release artifact as a user gets it: build the collection tarball, check that it holds no
# test or development files, install it into an empty collections path (nothing else on it, not
# this checkout), and prove from that installed copy that every plugin and role documents itself
# with ansible-doc and that the site playbook parses (fabric.boot.site). Seconds, no root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/release
tmp=$(mktemp -d /tmp/fb-release-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$OUT"; mkdir -p "$OUT"
ansible-galaxy collection build "$ROOT" --output-path "$OUT" >/dev/null
tarball=$(ls "$OUT"/fabric-boot-*.tar.gz)
echo "built $(basename "$tarball"): $(stat -c %s "$tarball") bytes, $(tar -tzf "$tarball" | wc -l) entries"
bad=$(tar -tzf "$tarball" | grep -E '^(tests|molecule|lab|benchmarks|build|\.ci|\.git|changelogs/fragments)(/|$)|^(Makefile|requirements-test\.txt|\.yamllint|\.ansible-lint)$|__pycache__|\.pyc$' || true)
if [ -n "$bad" ]; then echo "the tarball holds development files:"; echo "$bad"; exit 1; fi
# Only the installed copy is visible: no checkout, no ~/.ansible/collections.
export ANSIBLE_COLLECTIONS_PATH=$tmp/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export HOME=$tmp/home ANSIBLE_ROLES_PATH=$tmp/roles ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0; mkdir -p "$HOME"
ansible-galaxy collection install --offline -p "$ANSIBLE_COLLECTIONS_PATH" "$tarball" >/dev/null
installed=$ANSIBLE_COLLECTIONS_PATH/ansible_collections/fabric/boot
[ -f "$installed/MANIFEST.json" ] || { echo "not installed at $installed"; exit 1; }
n=0
# One ansible-doc call per type (each call costs ansible-core's start-up); every name must render
# its own "> TYPE: name" section.
for type in module filter inventory role; do
  names=$(ansible-doc -t "$type" -l fabric.boot 2>/dev/null | awk '{print $1}' | grep '^fabric\.boot\.' | tr -d : || true)
  [ -n "$names" ] || { echo "ansible-doc lists no $type of fabric.boot"; exit 1; }
  # shellcheck disable=SC2086
  ansible-doc -t "$type" $names > "$tmp/doc.txt" 2>&1 || { cat "$tmp/doc.txt"; echo "ansible-doc -t $type failed"; exit 1; }
  for name in $names; do
    grep -q "^> ${type^^}:\? \*\?$name\b" "$tmp/doc.txt" || { echo "ansible-doc -t $type $name rendered nothing"; exit 1; }
    n=$((n + 1))
  done
  if [ "$type" = role ]; then
    entries=$(grep -c "^ENTRY POINT: \*\?main\b" "$tmp/doc.txt" || true)
    [ "$entries" = "$(echo "$names" | wc -w)" ] || { echo "a role has no main entry point in meta/argument_specs.yml"; exit 1; }
  fi
done
[ "$(ls "$installed/roles" | wc -l)" = "$(ansible-doc -t role -l fabric.boot 2>/dev/null | grep -c '^fabric\.boot\.')" ] \
  || { echo "ansible-doc does not list every role of the tarball"; exit 1; }
ansible-playbook -i localhost, --syntax-check fabric.boot.site >/dev/null
echo "installed copy: $n plugin and role docs render; fabric.boot.site passes --syntax-check"
