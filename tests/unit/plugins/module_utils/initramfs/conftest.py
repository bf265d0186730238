import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import builders  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def env(tmp_path):
    return builders.gzip_env(tmp_path)
