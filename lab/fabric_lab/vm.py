"""The one qemu launcher of fabric.boot: the lab, the initrd boot test and the benchmarks use it.

Always TCG: /dev/kvm on the CI machines is a nested kvm_pvm that cannot run OVMF, SeaBIOS or a
stock kernel. A VM gets a fresh copy of its firmware's VARS file (never the shared one), writes
its serial console to a file, and this module notes when each serial line first appeared, so the
report can put serial events and packets on one clock (time.time()).
"""
import os
import shutil
import subprocess
import time

OVMF_DIR = "/usr/share/OVMF"

# name -> (code, vars template, machine, extra switches). Secure Boot needs SMM and a secure
# pflash, and the VARS file with Microsoft's keys enrolled (shim is signed by Microsoft).
FIRMWARE = {
    "ovmf": ("OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd", "q35", []),
    "ovmf-secboot": ("OVMF_CODE_4M.secboot.fd", "OVMF_VARS_4M.ms.fd", "q35,smm=on",
                     ["-global", "driver=cfi.pflash01,property=secure,value=on"]),
    "seabios": (None, None, "pc", []),
}


class Boot:
    """One qemu run. start(), then wait() polls the serial log until qemu exits or the limit."""

    def __init__(self, name, workdir, firmware="seabios", nic=None, tap=None, netns=None,
                 extra=(), memory=768, kernel=None, initrd=None, append=None, serial=None):
        self.name = name
        self.workdir = workdir
        self.serial = serial or os.path.join(workdir, "serial-%s.log" % name)
        self.lines = []          # [(time.time(), line)] in the order they appeared
        self.started = None
        self.ended = None
        self.returncode = None
        self.timed_out = False
        self.qemu_output = ""
        code, vars_tpl, machine, fw_extra = FIRMWARE[firmware]
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", str(memory), "-smp", "1",
               "-machine", machine, "-nodefaults", "-display", "none", "-monitor", "none",
               "-parallel", "none", "-serial", "file:" + self.serial, "-no-reboot"] + list(fw_extra)
        if code:
            vars_copy = os.path.join(workdir, "vars-%s.fd" % name)
            shutil.copy(os.path.join(OVMF_DIR, vars_tpl), vars_copy)
            cmd += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + os.path.join(OVMF_DIR, code),
                    "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
        if tap:
            cmd += ["-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap, "-device", nic]
        if kernel:
            cmd += ["-kernel", kernel]
        if initrd:
            cmd += ["-initrd", initrd]
        if append:
            cmd += ["-append", append]
        cmd += list(extra)
        self.cmd = (["ip", "netns", "exec", netns] if netns else []) + cmd
        self._proc = None
        self._seen = 0
        self._partial = b""

    def start(self):
        if os.path.exists(self.serial):
            os.unlink(self.serial)
        with open(os.path.join(self.workdir, "qemu-%s.cmd" % self.name), "w") as f:
            f.write(" ".join(self.cmd) + "\n")
        self.started = time.time()
        self._proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return self

    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def poll(self):
        """Read new serial output; True while qemu still runs."""
        try:
            with open(self.serial, "rb") as f:
                f.seek(self._seen)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            self._seen += len(chunk)
            now = time.time()
            data = self._partial + chunk
            *full, self._partial = data.split(b"\n")
            for raw in full:
                self.lines.append((now, raw.decode("utf-8", "replace").rstrip("\r")))
        return self.running()

    def finish(self, timeout):
        """One poll step with the per-boot limit; kills qemu past it. True when done."""
        alive = self.poll()
        if alive and time.time() - self.started > timeout:
            self.timed_out = True
            self._proc.kill()
            alive = False
        if not alive:
            self.returncode = self._proc.wait()
            self.ended = time.time()
            self.qemu_output = self._proc.stdout.read().decode("utf-8", "replace")
            self._proc.stdout.close()
            self.poll()
            if self._partial:
                self.lines.append((self.ended, self._partial.decode("utf-8", "replace").rstrip("\r")))
                self._partial = b""
        return not alive

    def wait(self, timeout=180, step=0.25):
        while not self.finish(timeout):
            time.sleep(step)
        return self

    def kill(self):
        if self.running():
            self._proc.kill()
            self._proc.wait()

    @property
    def text(self):
        return "\n".join(line for t_, line in self.lines)

    def first(self, needle):
        """Seconds after power-on when a serial line containing needle first appeared, or None."""
        for t, line in self.lines:
            if needle in line:
                return t - self.started
        return None

    def seconds(self):
        return (self.ended or time.time()) - self.started


def run_all(boots, timeout, parallel=1, step=0.25):
    """Run boots, at most `parallel` at a time (each VM takes one TCG thread, one core)."""
    pending, active = list(boots), []
    while pending or active:
        while pending and len(active) < parallel:
            active.append(pending.pop(0).start())
        active = [b for b in active if not b.finish(timeout)]
        time.sleep(step)
    return boots
