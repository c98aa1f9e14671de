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
    was read. A symbolic link is followed: the file it points to is rewritten, the link kept."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        current = path.read_bytes()
    except OSError as error:
        raise WriteError(f"cannot re-read before writing: {error.strerror or error}") from None
    if current != expected_on_disk:
        raise WriteError("changed on disk while reglint was working; not overwritten")
    try:
        info = path.stat()
        mode = stat.S_IMODE(info.st_mode)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".reglint-tmp")
    except OSError as error:
        raise WriteError(f"cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        if hasattr(os, "chown") and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(temp, info.st_uid, info.st_gid)
        os.replace(temp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(error, OSError):
            raise WriteError(f"cannot write: {error.strerror or error}") from None
        raise


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
