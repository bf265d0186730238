#!/bin/bash
# ansible-test sanity needs the collection at .../ansible_collections/fabric/boot and, here,
# an offline stand-in for the pip bootstrap script it downloads (tests/ci/get_pip_offline.py: no
# host but the package index is reachable here).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=$ROOT/build/sanity/ansible_collections/fabric/boot
rm -rf "$ROOT/build/sanity"; mkdir -p "$DEST"
# What git tracks or would track, less the CI machinery (.ci/, tests/ci/): shell and bootstrap
# scripts for the build host, not collection content, and left out of built artifacts too.
(cd "$ROOT" && git ls-files -co --exclude-standard -z -- . ':!.ci' ':!tests/ci') \
  | (cd "$ROOT" && xargs -0 cp --parents -P -t "$DEST")
cd "$DEST"
git init -q . && git add -A >/dev/null 2>&1 && git -c user.email=ci@local -c user.name=ci commit -qm sanity >/dev/null
cache=$HOME/.ansible/test/cache; mkdir -p "$cache"
py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for v in 24_2 25_0 25_1 25_2 25_3; do cp "$ROOT/tests/ci/get_pip_offline.py" "$cache/get_pip_$v.py"; done
ansible-test sanity --local --python "$py" --requirements --color no "$@"
