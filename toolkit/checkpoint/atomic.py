"""Writing a file so that readers see either the old file or the complete new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """A temporary file beside `target` that replaces it only when the block completes.

    If the block raises (or the process dies), `target` is untouched and no partial file remains
    under its name.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / 'notes.txt'
    >>> with atomic_file(path, 'w') as file:
    ...     _ = file.write('done')
    >>> path.read_text()
    'done'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
