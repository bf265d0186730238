# Offline stand-in for the get-pip bootstrap ansible-test downloads (see tests/ci/sanity.sh).
"""Offline stand-in for get-pip.py: bootstrap pip with the stdlib's ensurepip, then let pip
install what ansible-test asked for (pip==24.2 and friends) from the configured package index."""
import ensurepip, os, subprocess, sys
ensurepip.bootstrap(upgrade=True)
env = dict(os.environ)
env.pop("PIP_CONFIG_FILE", None)  # ensurepip points it at /dev/null; the machine's pip config must apply
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
