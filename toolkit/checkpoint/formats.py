"""Telling a checkpoint file's format from its first bytes, and checking that a file is complete.

Three formats are read: torch's zip files, torch's legacy (pre-1.6) files, and safetensors.

>>> import io, torch
>>> buffer = io.BytesIO()
>>> torch.save({'w': torch.ones(2)}, buffer)
>>> _ = buffer.seek(0)
>>> sniff_format(buffer), sniff_format(io.BytesIO(b'<!DOCTYPE html>'))
('zip', None)
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from typing import BinaryIO

import torch

from .._compat.torch import storage_dtype
from .errors import CheckpointError

ZIP, LEGACY, SAFETENSORS = "zip", "legacy torch", "safetensors"
# torch's legacy files start with a pickle (protocol 2 or newer) of this number, as a LONG1 opcode.
LEGACY_MAGIC = b"\x8a\x0a" + torch.serialization.MAGIC_NUMBER.to_bytes(10, "little")
SAFETENSORS_MAX_HEADER = 100 << 20


def sniff_format(file: BinaryIO) -> str | None:
    """'zip', 'legacy torch', 'safetensors', or None for anything else; the file position is kept."""
    position = file.tell()
    start = file.read(16)
    file.seek(position)
    if start.startswith(b"PK\x03\x04"):
        return ZIP
    if start[:1] == b"\x80" and start[2:].startswith(LEGACY_MAGIC):
        return LEGACY
    if len(start) > 8 and start[8:9] == b"{" and struct.unpack("<Q", start[:8])[0] <= SAFETENSORS_MAX_HEADER:
        return SAFETENSORS
    return None


def describe_start(file: BinaryIO) -> str:
    """What a file that is no checkpoint holds, for an error message."""
    position = file.tell()
    start = file.read(40)
    file.seek(position)
    return "it is empty" if not start else f"it starts with {start!r}"


def not_a_checkpoint(name: str, file: BinaryIO) -> CheckpointError:
    return CheckpointError(
        f"{name} is not a checkpoint (neither a torch zip file, a legacy torch file nor safetensors): "
        f"{describe_start(file)}"
    )


def check_complete(file: BinaryIO, name: str) -> str:
    """Check that `file` holds a whole checkpoint (every zip record's CRC, the safetensors sizes,
    a legacy file that torch reads); returns its format or raises a CheckpointError naming `name`."""
    kind = sniff_format(file)
    if kind is None:
        raise not_a_checkpoint(name, file)
    try:
        if kind == ZIP:
            _check_zip(file)
        elif kind == SAFETENSORS:
            _check_safetensors(file)
        else:
            torch.load(file, map_location="cpu", weights_only=True)
    except CheckpointError as error:
        raise CheckpointError(f"{name} is an incomplete {kind} file: {error}") from error
    except Exception as error:
        raise CheckpointError(f"{name} is an incomplete {kind} file: {type(error).__name__}: {error}") from error
    finally:
        file.seek(0)
    return kind


def _check_zip(file: BinaryIO) -> None:
    with zipfile.ZipFile(file) as archive:
        if min((info.header_offset for info in archive.infolist()), default=0) != 0:
            raise CheckpointError("its zip directory does not describe the start of the file")
        _data_pickle(archive)
        broken = archive.testzip()
        if broken is not None:
            raise CheckpointError(f"the record {broken} fails its CRC check")


def _data_pickle(archive: zipfile.ZipFile) -> str:
    """The name of a torch zip file's pickle (`<folder>/data.pkl`)."""
    name = min((name for name in archive.namelist() if name.endswith("data.pkl")), key=len, default=None)
    if name is None:
        raise CheckpointError("the zip file holds no data.pkl")
    return name


def _check_safetensors(file: BinaryIO) -> None:
    file.seek(0)
    (header_size,) = struct.unpack("<Q", file.read(8))
    header = json.loads(file.read(header_size))
    ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    expected = 8 + header_size + max(ends, default=0)
    actual = file.seek(0, os.SEEK_END)
    if actual != expected:
        raise CheckpointError(f"the header describes {expected} bytes, the file holds {actual}")


def check_storage_records(path: str) -> None:
    """Check that every storage record of a torch zip file is as long as the tensors it backs.

    A memory-mapped load takes each storage's length from the pickle, not from the record, so a
    short record would silently lend its tensors the bytes that follow it. This reads the pickle
    (with stand-ins for every global, so nothing is imported or run) and the records' sizes from the
    zip directory, no tensor data.
    """
    with zipfile.ZipFile(path) as archive:
        pickle_name = _data_pickle(archive)
        folder = pickle_name[: -len("data.pkl")]
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        needed = _storage_sizes(archive.read(pickle_name))
    for key, nbytes in needed.items():
        record = f"{folder}data/{key}"
        if sizes.get(record, -1) < nbytes:
            held = f"holds {sizes[record]} bytes" if record in sizes else "is missing"
            raise CheckpointError(f"the storage record {record} {held}, but its tensors need {nbytes}")


class _Stub:
    """Whatever a pickle asks for while its storage sizes are read: accepts any call, state or item."""

    def __new__(cls, *args: object, **kwargs: object) -> _Stub:
        return super().__new__(cls)

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass

    def __setitem__(self, key: object, value: object) -> None:
        pass

    def __call__(self, *args: object, **kwargs: object) -> _Stub:
        return _Stub()

    def append(self, value: object) -> None:
        pass

    def extend(self, values: object) -> None:
        pass


class _StorageSizes(pickle.Unpickler):
    """Walks a torch pickle, recording each storage's key and length in bytes; imports nothing."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, encoding="utf-8")
        self.needed: dict[str, int] = {}

    def find_class(self, module: str, name: str) -> type:
        return type(name, (_Stub,), {"global_name": f"{module}.{name}"})

    def persistent_load(self, saved_id: object) -> _Stub:
        if not (isinstance(saved_id, tuple) and len(saved_id) == 5 and saved_id[0] in ("storage", b"storage")):
            raise CheckpointError(f"unexpected persistent id in the pickle: {saved_id!r}")
        _, storage_type, key, _, numel = saved_id
        name = getattr(storage_type, "global_name", "").rpartition(".")[2]
        dtype = torch.uint8 if name == "UntypedStorage" else storage_dtype(name)
        self.needed[str(key)] = int(numel) * dtype.itemsize
        return _Stub()


def _storage_sizes(data_pickle: bytes) -> dict[str, int]:
    """Each storage key of a torch pickle and its length in bytes, read without loading anything."""
    reader = _StorageSizes(io.BytesIO(data_pickle))
    reader.load()
    return reader.needed
