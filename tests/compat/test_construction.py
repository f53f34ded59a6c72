"""Construction as joinmarket-ng's taker does it, and clear errors for anything else.

No connection is made here: constructing a client starts no thread and no actor.
"""

from __future__ import annotations

import inspect

import pytest

from actors.api.config import NICK_AUTH_MODES
from localnet.onion import random_onion_host
from protocol import NickIdentity
from supervisor import BlockingMultiDirectoryClient, MultiDirectoryClient, NickAuthMode
from tests.helpers.ngstyle import NgNickAuthMode, NgStyleIdentity

FACADES = [MultiDirectoryClient, BlockingMultiDirectoryClient]
SERVER = f"{random_onion_host()}:5222"
NG_KEYWORDS = {"directory_servers", "network", "nick_identity", "socks_host", "socks_port",
               "connection_timeout", "neutrino_compat", "on_nick_leave",
               "prefer_direct_connections", "our_location", "stream_isolation",
               "nick_auth_mode", "nick_auth_directory_ids"}
OUR_EXTRA = {"allow_clearnet", "limits", "fault_plan", "seed"}


@pytest.mark.parametrize("cls", FACADES)
def test_signature_lists_every_keyword_and_hides_none(cls):
    params = inspect.signature(cls).parameters
    assert set(params) == NG_KEYWORDS | OUR_EXTRA
    assert all(p.kind is not p.VAR_KEYWORD for p in params.values())
    assert cls.__init__.__doc__ and all(name in cls.__init__.__doc__ for name in params)


@pytest.mark.parametrize("cls", FACADES)
@pytest.mark.parametrize("mode", list(NgNickAuthMode) + list(NickAuthMode) + list(NICK_AUTH_MODES))
def test_ng_keywords_and_enum_nick_auth_mode_are_accepted(cls, mode):
    identity = NgStyleIdentity()
    client = cls(directory_servers=[SERVER], network="regtest", nick_identity=identity,
                 nick_auth_mode=mode, nick_auth_directory_ids={SERVER: "test:local-directory"})
    assert client._core.config.nick_auth_mode == str(mode.value if hasattr(mode, "value") else mode)
    assert client._core.config.nick_auth_directory_ids == ((SERVER, "test:local-directory"),)
    assert client.nick == identity.nick and client.directory_servers == [SERVER]
    assert client.prefer_direct_connections is True and client.network == "regtest"
    assert len(client.clients) == 0 and dict(client.clients) == {}


@pytest.mark.parametrize("cls", FACADES)
def test_unknown_keyword_names_the_public_class_and_the_accepted_ones(cls):
    with pytest.raises(TypeError) as info:
        cls([SERVER], "regtest", NickIdentity(), nick_auth_modes="disabled")
    text = str(info.value)
    assert text.startswith(f"{cls.__name__}()") and "'nick_auth_modes'" in text
    assert "_Common" not in text and "ClientCore" not in text
    assert all(name in text for name in NG_KEYWORDS | OUR_EXTRA)


@pytest.mark.parametrize("cls", FACADES)
@pytest.mark.parametrize("kwargs, named", [
    ({"nick_auth_mode": "verified"}, "nick_auth_mode"),
    ({"nick_auth_mode": NgNickAuthMode}, "nick_auth_mode"),
    ({"nick_auth_directory_ids": {SERVER: "Not An Id!"}}, "nick_auth_directory_ids"),
    ({"nick_auth_directory_ids": {"no:port:x": "ok"}}, "nick_auth_directory_ids"),
    ({"nick_auth_directory_ids": ["x"]}, "nick_auth_directory_ids"),
    ({"allow_clearnet": "yes"}, "allow_clearnet"),
    ({"prefer_direct_connections": 1}, "prefer_direct_connections"),
    ({"limits": {"max_line": 10}}, "limits"),
    ({"fault_plan": 42}, "fault_plan"),
    ({"nick_identity": object()}, "nick_identity"),
])
def test_wrong_values_name_the_class_and_the_argument(cls, kwargs, named):
    args = {"directory_servers": [SERVER], "network": "regtest", "nick_identity": NickIdentity()}
    with pytest.raises(ValueError) as info:
        cls(**{**args, **kwargs})
    assert str(info.value).startswith(f"{cls.__name__}: {named}")
    if named == "nick_auth_mode":
        assert all(mode in str(info.value) for mode in NICK_AUTH_MODES)


class _SignsWrongly(NgStyleIdentity):
    """Returns only the signature, as our old ``sign_message`` did: not NG's format."""

    def sign_message(self, message: str, hostid: str = "") -> str:
        return super().sign_message(message, hostid).rsplit(" ", 1)[1]


class _SignsOtherData(NgStyleIdentity):
    """Right format, but signs without the hostid."""

    def sign_message(self, message: str, hostid: str = "") -> str:
        return super().sign_message(message, "")


class _ClaimsAnotherNick(NgStyleIdentity):
    @property
    def nick(self) -> str:
        return "J5" + "x" * 14


@pytest.mark.parametrize("identity_cls", [_SignsWrongly, _SignsOtherData, _ClaimsAnotherNick])
def test_identity_that_cannot_sign_for_us_is_refused_at_construction(identity_cls):
    with pytest.raises(ValueError, match="MultiDirectoryClient: nick_identity"):
        MultiDirectoryClient([SERVER], "regtest", identity_cls())
