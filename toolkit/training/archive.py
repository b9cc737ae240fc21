"""Fetching a data set's archive (`data.download=true`): checked by its MD5 before anything is
extracted, extracted so that no member lands outside the data folder, and atomic throughout.

A download goes to a temporary file and is kept under its own name only when its MD5 matches; the
archive is then extracted into a temporary folder beside the final one and renamed into place, so
an interrupted download or extraction never leaves a half data set under the final names.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
from pathlib import Path

from ..checkpoint import CheckpointError
from ..checkpoint.download import fetch
from ..errors import ConfigError
from ..files import atomic_file

BLOCK = 1 << 20


def md5_of(path: Path) -> str:
    """The MD5 hex digest of a file."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        while block := file.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def fetch_archive(url: str, md5: str, target: Path, by_hand: str) -> None:
    """Download `url` to `target` unless a file with the MD5 `md5` is already there.

    Args:
        url: The archive's URL.
        md5: Its MD5, checked before the file is kept.
        target: Where it is kept.
        by_hand: How to place the files without a network, for the message when the download fails.

    Raises:
        ConfigError: When the download fails (naming the URL and what to do by hand) or its MD5 does
            not match (naming both MD5s; nothing is kept).
    """
    if target.is_file() and md5_of(target) == md5:
        return
    try:
        with atomic_file(target, "w+b") as file:
            received = fetch(url, file, "md5")
            if received != md5:
                raise ConfigError(
                    f"data.url={url}: the download's MD5 is {received}, data.md5 says {md5}; nothing was kept "
                    "(a changed or corrupted file, or the wrong data.md5)"
                )
    except CheckpointError as error:
        raise ConfigError(f"data.download=true: {error}; without a network, {by_hand}") from None


def extract(archive: Path, folder: Path, member: str) -> None:
    """Extract `member` (a top-level folder of the tar archive) into `folder`, atomically: members
    that would land outside the folder (absolute paths, `..`, links out of it, devices) are refused.

    Raises:
        ConfigError: When the archive cannot be read, lacks `member`, or holds an unsafe member.
    """
    final = folder / member
    with tempfile.TemporaryDirectory(dir=folder, prefix=f".{member}.") as scratch:
        try:
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(scratch, filter="data")
                else:  # Python before 3.10.12: the same refusals, by hand
                    tar.extractall(scratch, members=safe_members(tar, Path(scratch)))
        except (tarfile.TarError, OSError) as error:
            raise ConfigError(f"cannot extract {archive}: {type(error).__name__}: {error}") from None
        extracted = Path(scratch) / member
        if not extracted.is_dir():
            raise ConfigError(f"{archive} holds no {member}/ folder")
        if final.exists():
            shutil.rmtree(final)
        extracted.rename(final)


def safe_members(tar: tarfile.TarFile, root: Path) -> list[tarfile.TarInfo]:
    """The members of `tar`, or a ConfigError naming the first that is not a plain file or folder
    inside `root`."""
    members = tar.getmembers()
    for member in members:
        inside = (root / member.name).resolve().is_relative_to(root.resolve())
        if not inside or not (member.isfile() or member.isdir()):
            raise ConfigError(f"the archive's member {member.name!r} would land outside the data folder")
    return members
