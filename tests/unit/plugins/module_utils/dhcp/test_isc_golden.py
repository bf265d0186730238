"""The Python ISC renderer writes exactly what the Jinja template of main wrote.

golden/<case>/dhcpd.conf were rendered by roles/dhcp_server/templates/dhcpd.conf.j2 at commit
47f6811 (the last commit with the template) through the real role, from the inventory frozen
beside it in input.json: the integration test inventory in both of its variants, the example
inventory and the lab inventory."""
import os

from ansible_collections.fabric.boot.plugins.module_utils.dhcp import isc

from conftest import GOLDEN


def test_isc_output_is_byte_identical_to_the_template(golden_case):
    name, intent = golden_case
    with open(os.path.join(GOLDEN, name, "dhcpd.conf")) as f:
        want = f.read()
    got = isc.render(intent)
    assert got == want, name


def test_a_changed_intent_changes_the_output(golden_case):
    """Guard against a comparison that cannot fail: one flipped setting must show."""
    name, intent = golden_case
    with open(os.path.join(GOLDEN, name, "dhcpd.conf")) as f:
        want = f.read()
    intent["settings"]["authoritative"] = not intent["settings"]["authoritative"]
    assert isc.render(intent) != want
