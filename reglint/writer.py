"""Writing fixed files without ever losing the user's code, and rendering diffs."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import stat
import tempfile
from pathlib import Path


class WriteError(Exception):
    pass


def write_atomic(path: Path, data: bytes, expected_on_disk: bytes) -> None:
    """Replace `path` with `data` via a temporary file in the same directory and a rename,
    keeping its permissions (and owner, where allowed). Refuses if the file changed since it
    was read. A symbolic link is followed: the file it points to is rewritten, the link kept.

    The file's own inode is held open throughout. Just before the rename its content and
    identity are compared again (the temporary file is written and synced first, so the
    window is the rename itself); after it, the old inode is read once more: an editor that
    saved in place during the rename wrote into it, and that content is put back and the
    fix reported as not written. What remains: an editor that replaces the file by a rename
    of its own at that instant is not seen (its file is the one renamed over)."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        held = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise WriteError(f"cannot re-read before writing: {error.strerror or error}") from None
    try:
        _write_held(path, held, data, expected_on_disk)
    finally:
        os.close(held)


def _read_held(held: int) -> bytes:
    chunks, offset = [], 0
    while chunk := os.pread(held, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _unchanged(path: Path, held: int, expected: bytes) -> bool:
    """The path still names the held inode, and it holds what was read."""
    try:
        now, mine = os.stat(path), os.fstat(held)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino) and _read_held(held) == expected


def _write_held(path: Path, held: int, data: bytes, expected_on_disk: bytes) -> None:
    changed = "changed on disk while reglint was working; not overwritten"
    if not _unchanged(path, held, expected_on_disk):
        raise WriteError(changed)
    info = os.fstat(held)
    if info.st_nlink > 1:
        # a rename would leave the other names on the old content
        raise WriteError(f"has {info.st_nlink} hard links, which a fix would split; not written")
    mode = stat.S_IMODE(info.st_mode)
    try:
        temp = _temp_beside(path, data, mode)
    except OSError as error:
        raise WriteError(f"cannot write: {error.strerror or error}") from None
    try:
        _copy_xattrs(held, temp)
        if hasattr(os, "chown") and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(temp, info.st_uid, info.st_gid)
        if not _unchanged(path, held, expected_on_disk):
            raise WriteError(changed)
        os.replace(temp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(error, OSError):
            raise WriteError(f"cannot write: {error.strerror or error}") from None
        raise
    saved = _read_held(held)
    if saved != expected_on_disk:
        # saved in place during the rename: the edit went into the old inode; it wins
        _put_back(path, saved, mode)
        raise WriteError("changed on disk during the fix; the new content was kept, not fixed")


def _copy_xattrs(held: int, temp: str) -> None:
    """The file's extended attributes, on the file that replaces it (or no fix at all)."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(held)
    except OSError:
        return  # the file system has none
    for name in names:
        try:
            os.setxattr(temp, name, os.getxattr(held, name))
        except OSError as error:
            raise WriteError(f"cannot keep its extended attribute {name!r} ({error.strerror}); not written") from None


def _temp_beside(path: Path, data: bytes, mode: int) -> str:
    """A temporary file in `path`'s folder holding `data`, synced to disk, with `mode`; it is
    removed again if any of that fails."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".reglint-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _put_back(path: Path, content: bytes, mode: int) -> None:
    temp = None
    try:
        temp = _temp_beside(path, content, mode)
        os.replace(temp, path)
    except OSError as error:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise WriteError(f"changed on disk during the fix, and could not be restored: {error}") from None


def _lines(text: str) -> list[str]:
    # split at "\n" only, as patch does (a "\r" stays part of its line)
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff that `patch -p0` applies, with git's marker for a missing final newline."""
    out = []
    for line in difflib.unified_diff(_lines(before), _lines(after), fromfile=path, tofile=path):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
