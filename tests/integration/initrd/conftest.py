"""Session fixtures: real initrds for Debian's kernel (dracut, and one initramfs-tools image),
built once per test session.

Images are written under a session temp directory, never /boot. Building all of them takes
about 30 s on two cores (dracut host-only, shell init, about 42 MB unpacked).
"""
import os
import secrets
import shutil
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fbinitrd_lib as L  # noqa: E402

TIMINGS = {}


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "fabric.boot initrd timings (s)")
        for k, v in TIMINGS.items():
            terminalreporter.write_line(f"{k:45s} {v:7.1f}")


@pytest.fixture(scope="session")
def timings():
    return TIMINGS


@pytest.fixture(scope="session", autouse=True)
def _requirements():
    """Fail (never skip) when the environment cannot run these tests."""
    assert os.geteuid() == 0, "tests/integration/initrd needs root (dracut, depmod, qemu)"
    for tool in ("dracut", "mkinitramfs", L.SKIPCPIO, "lsinitrd", "cpio", "modinfo", "modprobe", "zstd", "xz", "gzip",
                 "qemu-system-x86_64", "ansible-playbook"):
        assert shutil.which(tool), f"{tool} is not installed (tests/ci/apt-packages.sh)"
    assert os.path.isdir(L.MODDIR), f"{L.MODDIR} missing: install linux-image-amd64"
    assert os.path.exists(L.VMLINUZ), f"{L.VMLINUZ} missing: install linux-image-amd64"
    assert os.path.exists(L.MODULE_FILE), f"the module under test is missing: {L.MODULE_FILE}"


@pytest.fixture(scope="session")
def workdir():
    """Everything the session writes (images, dracut's tmpdir, outputs), removed at the end,
    pass or fail."""
    d = tempfile.mkdtemp(prefix="fb-initrd-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


class _Images(dict):
    """name -> path of a pristine real image, built on first use and kept for the session.
    Never modify these; the module writes elsewhere."""

    def __init__(self, workdir):
        super().__init__()
        self.workdir = workdir
        self.tmp = os.path.join(workdir, "dracut-tmp")
        os.makedirs(self.tmp, exist_ok=True)

    def __missing__(self, name):
        if name in ("gzip", "xz", "zstd"):
            t0 = time.monotonic()
            path = L.build_dracut(os.path.join(self.workdir, f"dracut-{name}.img"), name, self.tmp)
            TIMINGS[f"fixture: dracut --{name}"] = time.monotonic() - t0
        elif name == "initramfs-tools":
            t0 = time.monotonic()
            path = L.build_initramfs_tools(os.path.join(self.workdir, "initramfs-tools.img"), self.tmp)
            TIMINGS["fixture: mkinitramfs"] = time.monotonic() - t0
        elif name.startswith("early+"):
            early = L.build_early_cpio(self.workdir)
            path = L.concat([early, self[name[len("early+"):]]],
                            os.path.join(self.workdir, f"dracut-early-{name[len('early+'):]}.img"))
        else:
            raise KeyError(name)
        os.chmod(path, 0o444)
        self[name] = path
        return path


@pytest.fixture(scope="session")
def images(workdir):
    return _Images(workdir)


@pytest.fixture
def scratch(workdir, request):
    d = os.path.join(workdir, "t-" + request.node.name.replace("/", "_").replace("[", "-").replace("]", ""))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


@pytest.fixture(scope="session")
def injected(images, workdir):
    """(mode, image name) -> (module result, output path, marker), run once per session.

    Every output also carries a random marker file and a dracut pre-trigger hook, so the same
    outputs are inspected by the content tests and booted by the qemu tests.
    """
    cache = {}

    def get(mode, name):
        key = (mode, name)
        if key not in cache:
            d = os.path.join(workdir, f"injected-{mode}-{name.replace('+', '-')}")
            os.makedirs(d, exist_ok=True)
            marker = f"FBMARK-{secrets.token_hex(8)}"
            dest = os.path.join(d, "initrd.img")
            res = L.run_module({
                "src": images[name], "dest": dest, "mode": mode,
                "add_modules": L.ADD, "module_source": L.MODDIR,
                "modules_load": [{"name": "fabric-test", "modules": L.ADD}],
                "modprobe_conf": [{"name": "fabric-test", "lines": [L.IPOIB_OPTS]}],
                "files": [
                    {"dest": "etc/fabric-test-marker", "content": marker + "\n", "mode": "0644"},
                    {"dest": "usr/lib/dracut/hooks/cmdline/99-fabric-test-root.sh", "content": L.ROOT_HOOK,
                     "mode": "0755"},
                    {"dest": "usr/lib/dracut/hooks/pre-trigger/01-fabric-test.sh", "content": L.BOOT_HOOK,
                     "mode": "0755"},
                ],
            }, workdir=d)
            TIMINGS[f"module {mode} {name}"] = res["_elapsed"]
            cache[key] = (res, dest, marker)
        return cache[key]

    return get
