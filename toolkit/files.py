"""Writing a file so that readers see either the old file or the complete new one, never half of it.

The new content goes to a temporary file beside the target, `.<name>.<host>.<pid>.<random>.part`,
created with the user's umask like any other file, and renamed over the target when complete. A
writer killed half way leaves its temporary file behind; the next write of the same target removes
it once its writer is gone (same host, no such process) or a day old (another host).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

PART_SUFFIX = ".part"
FOREIGN_PART_AGE_S = 24 * 3600
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # a full disk, a full quota, a file-size limit


def _host() -> str:
    return socket.gethostname().replace(".", "_") or "host"


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's process
    return True


def _is_stale(part: Path, host: str) -> bool:
    """Whether a temporary file's writer is gone: by its pid on this host, by its age elsewhere."""
    fields = part.name[: -len(PART_SUFFIX)].rsplit(".", 3)
    if len(fields) != 4 or not fields[2].isdigit():
        return False
    if fields[1] == host:
        return not _is_running(int(fields[2]))
    try:
        return time.time() - part.stat().st_mtime > FOREIGN_PART_AGE_S
    except FileNotFoundError:
        return False


def remove_stale_parts(target: Path) -> list[Path]:
    """Remove the temporary files that killed writers of `target` left; returns them.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / f'.w.pth.{_host()}.999999999.ab{PART_SUFFIX}').write_bytes(b'half')
    >>> [path.name.startswith('.w.pth.') for path in remove_stale_parts(folder / 'w.pth')]
    [True]
    """
    host = _host()
    stale = [part for part in target.parent.glob(f".{target.name}.*{PART_SUFFIX}") if _is_stale(part, host)]
    for part in stale:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return stale


def os_error_behind(error: BaseException) -> OSError | None:
    """The OSError that `error` is or was raised over (torch's writer raises a RuntimeError of its own
    over the OSError of a full disk)."""
    seen: BaseException | None = error
    while seen is not None and not isinstance(seen, OSError):
        seen = seen.__cause__ or seen.__context__
    return seen


def write_problem(error: BaseException, folder: Path) -> str:
    """Why a write into `folder` failed, in words: a full disk says so, with the room left.

    >>> write_problem(OSError(errno.ENOSPC, 'No space left on device'), Path('/'))
    'the disk holding / is full (... bytes free)'
    """
    cause = os_error_behind(error)
    if cause is not None and cause.errno in NO_ROOM:
        free = shutil.disk_usage(existing_parent(folder)).free
        return f"the disk holding {folder} is full ({free} bytes free)"
    return (cause.strerror or str(cause)) if cause is not None else str(error)


def existing_parent(path: Path) -> Path:
    """`path` or its nearest parent that exists."""
    return next(folder for folder in [path, *path.parents] if folder.exists())


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """A temporary file beside `target` that replaces it only when the block completes.

    If the block raises, `target` is untouched and no partial file remains; if the process dies,
    the next write of `target` removes what it left. A write that fails for want of room (a full
    disk or quota) raises `OutputError` naming the file and the room left; `target` keeps its old
    content. The file gets the user's umask (0644 under umask 022), as `open` would give it.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / 'notes.txt'
    >>> with atomic_file(path, 'w') as file:
    ...     _ = file.write('done')
    >>> path.read_text()
    'done'
    """
    target = Path(target)
    partial = target.parent / f".{target.name}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}{PART_SUFFIX}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(target)
        handle = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_RDWR | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(handle, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, target)
    except (OSError, RuntimeError) as error:
        cause = os_error_behind(error)
        if cause is None or cause.errno not in NO_ROOM or isinstance(error, OutputError):
            raise
        kept = "its previous version is kept" if target.exists() else "nothing was written"
        raise OutputError(f"cannot write {target}: {write_problem(cause, target.parent)}; {kept}") from error
    finally:
        if os.path.exists(partial):
            os.remove(partial)
