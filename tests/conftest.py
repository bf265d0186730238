"""Make this checkout importable as ansible_collections.fabric.boot for pytest.

The collection's plugins import each other by their FQCN path, as Ansible loads
them; a symlink farm under build/ gives the checkout that name without copying.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "fabric", "boot")
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:
        pass
# tests/fabric_test_env.py is shared by every suite.
sys.path.insert(0, os.path.join(ROOT, "tests"))
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)
