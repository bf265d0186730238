"""The filters are thin: they return the core's values and turn its errors into AnsibleFilterError."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.filter.fabric_identity import FilterModule

F = FilterModule().filters()


def test_public_names_exist():
    assert set(F) == {"ib_guid", "ib_client_id", "ib_client_ids", "ib_mac48", "ipoib_hwaddr", "ib_link_local"}


def test_values():
    g = "0x0002c903000c7811"
    assert F["ib_guid"](g) == "00:02:c9:03:00:0c:78:11"
    assert F["ib_client_id"](g) == "20:00:02:c9:03:00:0c:78:11"
    assert F["ib_client_id"](g, "flexboot").startswith("ff:00:00:00:00:00:02:00:00:02:c9:00:")
    assert F["ib_client_ids"](g)["ipxe"] == "01:00:02:c9:0c:78:11"
    assert F["ib_mac48"](g) == "00:02:c9:0c:78:11"
    assert F["ipoib_hwaddr"](g).endswith(":00:02:c9:03:00:0c:78:11")
    assert F["ib_link_local"](g) == "fe80::202:c903:c:7811"


@pytest.mark.parametrize("name", ["ib_guid", "ib_client_ids", "ib_mac48", "ipoib_hwaddr", "ib_link_local"])
def test_errors_name_filter_and_value(name):
    with pytest.raises(AnsibleFilterError) as err:
        F[name]("52:54:00:12:34:56")
    assert "fabric.boot.%s" % name in str(err.value)
    assert "'52:54:00:12:34:56'" in str(err.value)


def test_bad_form():
    with pytest.raises(AnsibleFilterError, match="form 'bogus'"):
        F["ib_client_id"]("0x0002c903000c7811", "bogus")
