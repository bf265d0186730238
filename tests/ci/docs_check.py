"""Documentation check: every role variable a user can set is documented twice, for ansible-doc
(meta/argument_specs.yml) and for people (docs/roles/<role>.md), and every filter a plugin file
exports has its own documentation file (plugins/filter/<name>.yml) for ansible-doc.

    python tests/ci/docs_check.py        # exit 1 with one line per gap: role, variable, file
"""
import ast
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _yaml(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def role_gaps(role):
    base = os.path.join(ROOT, "roles", role)
    defaults = _yaml(os.path.join(base, "defaults", "main.yml"))
    spec_path = os.path.join(base, "meta", "argument_specs.yml")
    doc_path = os.path.join(ROOT, "docs", "roles", role + ".md")
    gaps = []
    if not os.path.exists(spec_path):
        return ["%s: no meta/argument_specs.yml" % role]
    specs = _yaml(spec_path).get("argument_specs", {})
    options = (specs.get("main") or {}).get("options") or {}
    doc = open(doc_path).read() if os.path.exists(doc_path) else None
    if doc is None:
        gaps.append("%s: no %s" % (role, os.path.relpath(doc_path, ROOT)))
    for var in defaults:
        if var not in options:
            gaps.append("%s: %s is in defaults/main.yml but not in meta/argument_specs.yml" % (role, var))
        if doc is not None and not re.search(r"\b%s\b" % re.escape(var), doc):
            gaps.append("%s: %s is in defaults/main.yml but not in docs/roles/%s.md" % (role, var, role))
    for var in options:
        if var not in defaults and not (options[var] or {}).get("required"):
            gaps.append("%s: %s is in meta/argument_specs.yml but has no default in defaults/main.yml "
                        "(and is not required)" % (role, var))
    return gaps


def filter_gaps():
    """Names returned by FilterModule.filters() in plugins/filter/*.py, each with a <name>.yml."""
    fdir = os.path.join(ROOT, "plugins", "filter")
    gaps = []
    for name in sorted(os.listdir(fdir)):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(fdir, name)).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for ret in (n for n in ast.walk(node) if isinstance(n, ast.Return)):
                    if isinstance(ret.value, ast.Dict):
                        for key in ret.value.keys:
                            fname = getattr(key, "value", None)
                            if fname and not os.path.exists(os.path.join(fdir, fname + ".yml")):
                                gaps.append("filter %s (plugins/filter/%s) has no plugins/filter/%s.yml"
                                            % (fname, name, fname))
    return gaps


def main():
    gaps = []
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        gaps += role_gaps(role)
    gaps += filter_gaps()
    for gap in gaps:
        print(gap)
    print("docs check: %d gap(s)" % len(gaps))
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
