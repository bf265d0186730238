"""fabric_client recognises the keyfiles it wrote by their uuid (stale profiles are removed, no
others): its namespace must be the one nm_keyfile derives the UUIDs from."""
import os

import yaml

from ansible_collections.fabric.boot.plugins.module_utils import nm_keyfile

ROLE_VARS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "fabric_client", "vars", "main.yml")


def test_role_uses_the_keyfile_uuid_namespace():
    with open(ROLE_VARS) as f:
        role_vars = yaml.safe_load(f)
    assert role_vars["__fabric_client_uuid_namespace"] == str(nm_keyfile.UUID_NAMESPACE)
