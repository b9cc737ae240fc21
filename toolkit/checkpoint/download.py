"""Downloading a checkpoint into the cache: atomic, hash-checked, with a progress bar on a terminal.

A download goes to a temporary file in the cache folder and is renamed into place only once it is
complete and, where the file name carries a hash (`name-<sha256 prefix>.ext`), matches it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

from .atomic import atomic_file
from .io import CheckpointError
from .paths import checkpoint_cache

HASH_IN_NAME = re.compile(r"-([0-9a-f]{6,64})\.")
CHUNK = 1 << 20
DEFAULT_TIMEOUT = 30.0


def hash_prefix(filename: str) -> str | None:
    """The SHA256 prefix that a file name carries, torch.hub style.

    >>> hash_prefix('resnet18-f37072fd.pth'), hash_prefix('model_b_ab3ef2c.pth')
    ('f37072fd', None)
    """
    match = HASH_IN_NAME.search(filename)
    return match.group(1) if match else None


def download_timeout() -> float:
    """Seconds to wait on the network: `$TOOLKIT_DOWNLOAD_TIMEOUT`, default 30."""
    value = os.environ.get("TOOLKIT_DOWNLOAD_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        raise CheckpointError(f"TOOLKIT_DOWNLOAD_TIMEOUT must be a number of seconds, got {value!r}") from None


def cached_download(url: str) -> Path:
    """The cached file for `url`, downloaded first if it is not in the cache yet."""
    name = os.path.basename(urlparse(url).path)
    if not name:
        raise CheckpointError(f"cannot tell a file name from the URL {url!r}")
    target = checkpoint_cache() / name
    if not target.is_file():
        download(url, target)
    return target


def download(url: str, target: Path) -> None:
    """Fetch `url` into `target`, atomically; any failure leaves nothing under `target`'s name."""
    with atomic_file(target) as file:
        digest = _fetch(url, file)
        expected = hash_prefix(target.name)
        if expected and not digest.startswith(expected):
            raise CheckpointError(
                f"download of {url} failed its hash check: the file's SHA256 is {digest}, "
                f"its name says it starts with {expected}"
            )


def _fetch(url: str, file: BinaryIO) -> str:
    """Stream `url` into `file`; returns the SHA256 hex digest of the bytes."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=download_timeout()) as response:
            total = int(response.headers.get("Content-Length") or 0)
            received = 0
            with _progress(total, os.path.basename(urlparse(url).path)) as bar:
                while chunk := response.read(CHUNK):
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if total and received != total:
                raise CheckpointError(f"download of {url} was cut off after {received} of {total} bytes")
    except urllib.error.HTTPError as error:
        raise CheckpointError(f"download of {url} failed: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise CheckpointError(f"download of {url} failed: {error.reason}") from error
    except TimeoutError as error:
        timeout = download_timeout()
        raise CheckpointError(f"download of {url} timed out (TOOLKIT_DOWNLOAD_TIMEOUT={timeout}s)") from error
    except (http.client.HTTPException, ConnectionError) as error:
        raise CheckpointError(f"download of {url} failed: {type(error).__name__}: {error}") from error
    return digest.hexdigest()


def _progress(total: int, name: str) -> Any:
    """A tqdm bar for downloads over 10 MB, shown only when stderr is a terminal."""
    from tqdm import tqdm

    quiet = not sys.stderr.isatty() or total < 10 * CHUNK
    return tqdm(total=total or None, desc=name, unit="B", unit_scale=True, disable=quiet, leave=False)
