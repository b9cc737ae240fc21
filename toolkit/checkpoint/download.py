"""Downloading a checkpoint into the cache: atomic, checked, with a progress bar on a terminal.

A URL is cached under `$TOOLKIT_HOME/checkpoints/<host>-<hash of the URL>/<file name>`, so two
URLs with the same file name never share a file. A download goes to a temporary file beside it
and is renamed into place only once it is complete: as long as the server's Content-Length says,
a checkpoint that parses (a torch zip file whose records pass their CRC check, a legacy torch file,
or safetensors), and, where the file name carries a hash (`name-<sha256 prefix>.ext`), matching it.

Two environment variables bound the network: `TOOLKIT_DOWNLOAD_TIMEOUT` (seconds to wait for
each read, default 30) and `TOOLKIT_DOWNLOAD_DEADLINE` (seconds for the whole download, default
3600).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from ..files import atomic_file
from .errors import CheckpointError
from .formats import check_complete
from .paths import checkpoint_cache

HASH_IN_NAME = re.compile(r"-([0-9a-f]{6,64})\.", re.IGNORECASE)
UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1 << 20
LIMITS = {"TOOLKIT_DOWNLOAD_TIMEOUT": 30.0, "TOOLKIT_DOWNLOAD_DEADLINE": 3600.0}


def hash_prefix(filename: str) -> str | None:
    """The SHA256 prefix that a file name carries, torch.hub style, in lower case.

    >>> hash_prefix('resnet18-f37072fd.pth'), hash_prefix('lin-FBF39488.pth'), hash_prefix('model_b_ab3ef2c.pth')
    ('f37072fd', 'fbf39488', None)
    """
    match = HASH_IN_NAME.search(filename)
    return match.group(1).lower() if match else None


def _seconds(variable: str) -> float:
    """A positive, finite number of seconds from the environment, or its default."""
    value = os.environ.get(variable)
    if not value:
        return LIMITS[variable]
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise CheckpointError(f"{variable} must be a positive, finite number of seconds, got {value!r}")
    return seconds


def download_timeout() -> float:
    """Seconds to wait for each read from the network: `$TOOLKIT_DOWNLOAD_TIMEOUT`, default 30."""
    return _seconds("TOOLKIT_DOWNLOAD_TIMEOUT")


def download_deadline() -> float:
    """Seconds a whole download may take: `$TOOLKIT_DOWNLOAD_DEADLINE`, default 3600."""
    return _seconds("TOOLKIT_DOWNLOAD_DEADLINE")


def cache_path(url: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Where `url` is cached under `root` (default `$TOOLKIT_HOME/checkpoints`): a folder of its own
    (host and URL hash), then its file name.

    >>> cache_path('https://example.com/models/net-0123abcd.pth').relative_to(checkpoint_cache()).as_posix()
    'example.com-bdb9754c4fc9/net-0123abcd.pth'
    """
    parsed = urlparse(url)
    name = unquote(os.path.basename(parsed.path))
    if not name or name in (".", "..") or not UNSAFE_IN_NAME.sub("", name).strip("."):
        raise CheckpointError(f"cannot tell a file name from the URL {url!r}")
    host = UNSAFE_IN_NAME.sub("_", parsed.netloc) or "local"
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    folder = checkpoint_cache() if root is None else Path(root).expanduser()
    return folder / f"{host}-{key}" / UNSAFE_IN_NAME.sub("_", name)


def cached_download(url: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """The cached file for `url` (under `folder` instead of the cache if given), downloaded first if
    it is not there yet."""
    target = cache_path(url, folder)
    if not target.is_file():
        download(url, target)
    return target


def download(url: str, target: Path) -> None:
    """Fetch `url` into `target`, atomically; any failure leaves nothing under `target`'s name."""
    with contextlib.ExitStack() as stack:
        try:
            file = stack.enter_context(atomic_file(target, "w+b"))
        except OSError as error:
            raise CheckpointError(
                f"cannot write the download of {url} to {str(target.parent)!r} "
                f"(TOOLKIT_HOME must be a writable folder): {error}"
            ) from error
        digest = fetch(url, file)
        expected = hash_prefix(target.name)
        if expected and not digest.startswith(expected):
            raise CheckpointError(
                f"download of {url} failed its hash check: the file's SHA256 is {digest}, "
                f"its name says it starts with {expected}"
            )
        file.flush()
        file.seek(0)
        check_complete(file, f"the download of {url}")


def fetch(url: str, file: BinaryIO, algorithm: str = "sha256") -> str:
    """Stream `url` into `file`, within `TOOLKIT_DOWNLOAD_TIMEOUT` per read and
    `TOOLKIT_DOWNLOAD_DEADLINE` in all, checking that it arrived whole.

    Args:
        url: What to fetch (http, https, or file).
        file: Where the bytes go.
        algorithm: The `hashlib` algorithm of the digest returned ('sha256', 'md5', ...).

    Returns:
        The hex digest of the bytes received.

    Raises:
        CheckpointError: When the server refuses, the connection fails or is cut off, or time runs out.
    """
    digest = hashlib.new(algorithm)
    timeout, deadline = download_timeout(), download_deadline()
    give_up = time.monotonic() + deadline
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            received = 0
            with _progress(total, os.path.basename(urlparse(url).path)) as bar:
                while chunk := response.read1(CHUNK):
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > give_up:
                        raise CheckpointError(
                            f"download of {url} took longer than TOOLKIT_DOWNLOAD_DEADLINE={deadline:g}s "
                            f"({received} bytes received)"
                        )
            if total and received != total:
                raise CheckpointError(f"download of {url} was cut off after {received} of {total} bytes")
    except urllib.error.HTTPError as error:
        raise CheckpointError(f"download of {url} failed: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise CheckpointError(f"download of {url} failed: {error.reason}") from error
    except TimeoutError as error:
        raise CheckpointError(f"download of {url} timed out (TOOLKIT_DOWNLOAD_TIMEOUT={timeout:g}s)") from error
    except (http.client.HTTPException, ConnectionError, ValueError) as error:
        raise CheckpointError(f"download of {url} failed: {type(error).__name__}: {error}") from error
    return digest.hexdigest()


def _progress(total: int, name: str) -> Any:
    """A tqdm bar for downloads over 10 MB, shown only when stderr is a terminal."""
    from tqdm import tqdm

    quiet = not sys.stderr.isatty() or total < 10 * CHUNK
    return tqdm(total=total or None, desc=name, unit="B", unit_scale=True, disable=quiet, leave=False)
