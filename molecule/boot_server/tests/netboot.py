"""Boot a qemu VM over the network inside a test namespace (the lab of docs/lab.md).

Host side only (root): packs a busybox initrd whose /init prints a marker and the kernel
command line and powers off, and runs qemu on a tap cabled to the namespace's bridge.
Recipe and timings: ../shared/recipes/pxe-boot/NOTES.md. Under TCG a UEFI boot takes
about 17-19 s on an idle host; the caller's timeout allows for a loaded one.
"""
import os
import secrets
import shutil
import struct
import subprocess
import time

INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox --install -s /bin
echo
echo "$(cat /etc/fb-marker)"
echo "CMDLINE: $(cat /proc/cmdline)"
echo "UPTIME: $(cat /proc/uptime)"
poweroff -f
"""

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"   # 2 MB, no Secure Boot; goes with OVMF_VARS.fd
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"


def new_marker():
    # Never put it on the kernel command line: the kernel logs its command line itself.
    return "FB-BOOT-OK-" + secrets.token_hex(6)


def build_initrd(workdir, marker, busybox="/bin/busybox"):
    """A newc+gzip initrd: static busybox, /init, /etc/fb-marker. Returns its path."""
    root = os.path.join(workdir, "initrd-root")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "sbin", "dev", "proc", "sys", "etc", "tmp"):
        os.makedirs(os.path.join(root, d))
    if not _is_static_elf(os.path.realpath(busybox)):
        raise RuntimeError("%s is not a static binary: install busybox-static (the dynamic busybox "
                           "package replaces it, and its libraries are not in this initrd)" % busybox)
    shutil.copy(os.path.realpath(busybox), os.path.join(root, "bin", "busybox"))
    os.chmod(os.path.join(root, "bin", "busybox"), 0o755)
    subprocess.run(["mknod", "-m", "600", os.path.join(root, "dev", "console"), "c", "5", "1"], check=True)
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(root, "init"), 0o755)
    with open(os.path.join(root, "etc", "fb-marker"), "w") as f:
        f.write(marker + "\n")
    path = os.path.join(workdir, "initrd.img")
    subprocess.run("cd %s && find . -print0 | cpio --null -o -H newc --quiet | gzip -6 > %s" % (root, path),
                   shell=True, check=True)
    os.chmod(path, 0o644)
    return path


def _is_static_elf(path):
    """True for an ELF executable without a PT_INTERP program header (no dynamic loader)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:          # 64-bit ELF only
            return False
        endian = "<" if head[5] == 1 else ">"
        phoff, = struct.unpack(endian + "Q", head[32:40])
        phentsize, phnum = struct.unpack(endian + "HH", head[54:58])
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack(endian + "I", f.read(4))
            if p_type == 3:                                   # PT_INTERP
                return False
    return True


def add_tap(netns, tap, bridge="br0"):
    subprocess.run(["ip", "-n", netns, "link", "del", tap], capture_output=True, check=False)
    subprocess.run(["ip", "-n", netns, "tuntap", "add", "dev", tap, "mode", "tap"], check=True)
    subprocess.run(["ip", "-n", netns, "link", "set", tap, "master", bridge], check=True)
    subprocess.run(["ip", "-n", netns, "link", "set", tap, "up"], check=True)


def del_tap(netns, tap):
    subprocess.run(["ip", "-n", netns, "link", "del", tap], capture_output=True, check=False)


def boot_uefi(netns, tap, mac, workdir, marker, timeout=180):
    """OVMF's own PXE (romfile= keeps iPXE out), TCG. Returns a dict with timings and the serial log."""
    vars_copy = os.path.join(workdir, "OVMF_VARS.fd")
    shutil.copy(OVMF_VARS, vars_copy)   # never boot from the shared VARS file
    firmware = ["-machine", "q35",
                "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
                "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
    nic = "virtio-net-pci,netdev=n0,mac=%s,bootindex=1,romfile=" % mac
    return _boot("uefi", firmware, nic, netns, tap, workdir, marker, timeout)


def boot_bios(netns, tap, mac, workdir, marker, timeout=180):
    """SeaBIOS + the iPXE ROM qemu loads by default (SeaBIOS has no PXE of its own), then pxelinux.

    This iPXE waits about 13 s for IPv6 router advertisements that never come in the namespace.
    """
    nic = "virtio-net-pci,netdev=n0,mac=%s,bootindex=1" % mac
    return _boot("bios", ["-machine", "pc"], nic, netns, tap, workdir, marker, timeout)


def _boot(mode, firmware, nic, netns, tap, workdir, marker, timeout):
    serial = os.path.join(workdir, "serial-%s.log" % mode)
    if os.path.exists(serial):
        os.unlink(serial)
    cmd = (["ip", "netns", "exec", netns, "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max",
            "-m", "512", "-smp", "1", "-display", "none", "-monitor", "none", "-parallel", "none",
            "-serial", "file:" + serial, "-no-reboot"] + firmware
           + ["-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap, "-device", nic])
    with open(os.path.join(workdir, "qemu-cmd-%s.txt" % mode), "w") as f:
        f.write(" ".join(cmd) + "\n")
    t0 = time.monotonic()
    qemu = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    marker_at = None
    try:
        while True:
            elapsed = time.monotonic() - t0
            text = _read(serial)
            if marker_at is None and marker in text:
                marker_at = elapsed
            if qemu.poll() is not None:
                break
            if elapsed > timeout:
                break
            time.sleep(0.5)
    finally:
        timed_out = qemu.poll() is None
        if timed_out:
            qemu.kill()
        qemu_out = qemu.communicate()[0].decode(errors="replace")
    return {
        "marker_at": marker_at,
        "exit_at": time.monotonic() - t0,
        "timed_out": timed_out,
        "returncode": qemu.returncode,
        "serial": _read(serial),
        "qemu_output": qemu_out,
        "command": " ".join(cmd),
    }


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
