"""The public surface, pinned (as trio's test_exports): what ``supervisor`` and ``protocol``
export, and that every public module declares ``__all__`` naming only what exists.

Changing a pinned list is a public API change: update API.md/docs in the same commit.
"""

import importlib
import pkgutil

import pytest

import protocol
import supervisor

SUPERVISOR_ALL = [
    "AllRoutesFailedError", "BlockingMultiDirectoryClient", "BlockingRemoteMultiDirectoryClient",
    "BondData", "ChannelBinding", "ClientClosedError", "ControlProtocolError",
    "DaemonRefusedError", "DirectoryHealth", "DirectoryNotConnectedError", "FaultPlan",
    "HandshakeRejectedByRemoteError", "Limits", "MultiDirectoryClient", "MultiDirectoryError",
    "NickAuthMode", "NickIdentity", "NoDirectConnectionError", "Offer", "OfferType",
    "PeerHandle", "RefusedDestinationError", "RemoteMultiDirectoryClient", "main",
]

PROTOCOL_ALL = [
    "DirectoryHandshake", "Envelope", "FidelityBondProof", "JMLine", "LocalProtocolError",
    "MsgType", "NaclKeypair", "NickAuthChallenge", "NickAuthProof", "NickAuthResult",
    "NickIdentity", "OfferSegment", "PeerHandshake", "PeerlistEntry", "PrivMsg", "ProtocolError",
    "RemoteProtocolError", "SigningIdentity",
]

#: Packages whose every module is public and must declare ``__all__``.
PUBLIC_PACKAGES = ("actors.api", "actors.daemon", "actors.app", "actors.faults", "actors.net")
PUBLIC_MODULES = ("actors.errors", "supervisor", "protocol")


def public_modules() -> list[str]:
    names = list(PUBLIC_MODULES)
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [f"{package}.{info.name}" for info in pkgutil.iter_modules(module.__path__)
                  if not info.name.startswith("_")]
    return names


@pytest.mark.parametrize("module, expected", [(supervisor, SUPERVISOR_ALL),
                                              (protocol, PROTOCOL_ALL)],
                         ids=["supervisor", "protocol"])
def test_pinned_exports(module, expected):
    assert sorted(module.__all__) == sorted(expected)
    assert len(set(module.__all__)) == len(module.__all__)


def test_the_supervisor_actor_is_not_public():
    assert "Supervisor" not in supervisor.__all__
    from actors.shells.supervisor_actor import Supervisor  # still importable where it lives
    assert Supervisor.__module__ == "actors.shells.supervisor_actor"


def test_star_import_of_supervisor_gives_the_public_names():
    namespace: dict = {}
    exec("from supervisor import *", namespace)
    assert set(SUPERVISOR_ALL) <= set(namespace)


@pytest.mark.parametrize("name", public_modules())
def test_every_public_module_declares_all_and_it_resolves(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    missing = [attr for attr in module.__all__ if not hasattr(module, attr)]
    assert missing == [], f"{name}.__all__ names what it does not define: {missing}"
