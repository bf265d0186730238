"""dhcp_client.py on a veth cabled to br0 of a test's netns: the DHCP client step the dhcp_server
Molecule verifiers (one per backend) share."""
import json
import os
import sys
import tempfile

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dhcp_client.py")


def ask(local, netns, cases, client_mac=None, prepare=None):
    """Cable fbc0 (MAC client_mac, or a random one) to br0 in netns, call prepare() if given (after
    the veth exists), send the cases and return dhcp_client.py's JSON results; fbc0 is removed.
    local: testinfra's local host."""
    address = "address %s " % client_mac if client_mac else ""
    setup = local.run("ip netns exec %s sh -c 'ip link del fbc0 2>/dev/null; ip link add fbc0 %stype veth peer name "
                      "fbc0p && ip link set fbc0p master br0 up && ip link set fbc0 up'" % (netns, address))
    assert setup.rc == 0, setup
    try:
        if prepare:
            prepare()
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(cases, f)
            f.flush()
            r = local.run("ip netns exec %s %s %s < %s" % (netns, sys.executable, CLIENT, f.name))
        assert r.rc == 0, r
        return json.loads(r.stdout)
    finally:
        local.run("ip netns exec %s ip link del fbc0" % netns)
