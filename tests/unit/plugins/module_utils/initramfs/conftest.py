import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import builders  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def env(tmp_path):
    """(tmp dir, a gzip test initrd, a kernel module tree for builders.KVER)."""
    src = str(tmp_path / "initrd.img")
    builders.make_image(src, "gzip")
    tree = builders.source_tree(str(tmp_path / "src" / builders.KVER))
    return tmp_path, src, tree
