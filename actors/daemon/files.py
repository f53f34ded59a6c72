"""The daemon's files: the 0600 cookie and control socket, created so that no other user
can ever reach them, and removed at stop only if they are still the ones we created.

Why a module of its own: these are the daemon's only file-system side effects; keeping them
apart from the listener makes the permission rules easy to audit.
"""

from __future__ import annotations

import os
import socket
import stat

__all__ = ["bind_unix", "owned", "remove_owned", "write_private"]

LISTEN_BACKLOG = 64


def write_private(path: str, text: str) -> tuple[str, int]:
    """Write ``path`` atomically with mode 0600; return (path, inode) for removal at stop."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path, os.lstat(path).st_ino


def bind_unix(path: str) -> socket.socket:
    """Bind under a temporary name, chmod 0600, then rename: never reachable with wider mode.

    A live daemon on ``path`` is a ``RuntimeError``; a stale socket file is replaced; any
    other file there is a ``ValueError`` (we never delete what is not a socket).
    """
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise ValueError(f"socket_path: {path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            pass  # stale socket of a dead daemon: replaced below
        else:
            raise RuntimeError(f"socket_path: a daemon is already listening on {path}")
        finally:
            probe.close()
    tmp = f"{path}.{os.getpid()}.tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def owned(path: str) -> tuple[str, int]:
    """(path, inode) of a file we just created, for :func:`remove_owned`."""
    return path, os.lstat(path).st_ino


def remove_owned(files: list[tuple[str, int]]) -> None:
    """Unlink each file if it is still ours (same inode): never a successor daemon's file."""
    for path, inode in files:
        try:
            if os.lstat(path).st_ino == inode:
                os.unlink(path)
        except OSError:
            pass
