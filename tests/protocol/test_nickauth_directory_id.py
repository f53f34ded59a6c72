"""``is_directory_id``: what a client may pin as a directory id (config validation relies
on it, so both a yes and a no are pinned here, against the same pattern 803 lines use)."""

import pytest

from protocol.nickauth import is_directory_id


@pytest.mark.parametrize("value", [
    "dir1", "0", "directory.example:5222", "a" * 255, "x-y_z.0:1",
])
def test_well_formed_directory_ids_are_accepted(value):
    assert is_directory_id(value) is True


@pytest.mark.parametrize("value", [
    "", "Dir1", "-dir", ".dir", "dir 1", "dir/1", "a" * 256, "dir1\n",
])
def test_malformed_directory_ids_are_refused(value):
    assert is_directory_id(value) is False
