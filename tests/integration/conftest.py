"""Integration tests run real daemons in network namespaces, real kernels under qemu and
podman containers: they need root. Without it they fail here, loudly, instead of skipping."""
import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _require_root():
    if os.geteuid() != 0:
        pytest.fail("tests/integration needs root (network namespaces, dhcpd, qemu); run `make integration` as root",
                    pytrace=False)
