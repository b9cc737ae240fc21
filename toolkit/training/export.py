"""`export=`: the trained network saved by file suffix, each format checked where it is written.

`.safetensors` holds the weights (loadable with `load_checkpoint`). `.onnx` is
`torch.onnx.export` (its dynamo exporter) with a dynamic batch axis, run back with onnxruntime on a
random batch of another size than the one it was traced with; `.pt2` is `torch.export.export` with
the same dynamic batch axis, saved with `torch.export.save` and loaded back to be checked the same
way. The largest difference from the network's own outputs is printed and returned. ONNX needs the
`export` extra (onnx, onnxruntime, onnxscript). Every file is written atomically.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..config.targets import install_hint
from ..errors import ConfigError
from ..files import atomic_file, existing_parent

log = logging.getLogger("toolkit.training")
SUFFIXES = (".safetensors", ".onnx", ".pt2")
ONNX_PACKAGES = ("onnx", "onnxruntime", "onnxscript")
CHECK_BATCH = 3  # the batch the exports are checked on: another size than the traced one, so the batch axis is dynamic


def export_paths(export: Any) -> list[Path]:
    """The files `export=` names: none, one path, or a list of them.

    >>> export_paths(['net.onnx', 'net.pt2']), export_paths(None)
    ([PosixPath('net.onnx'), PosixPath('net.pt2')], [])
    """
    if export is None:
        return []
    return [Path(path) for path in ([export] if isinstance(export, str | Path) else export)]


def check_exports(paths: Sequence[Path]) -> None:
    """Stop before training unless each path has a known suffix, can be written, and its format's
    packages are installed.

    Args:
        paths: The files `export=` names.

    Raises:
        ConfigError: Naming the path, the suffixes known, or the install command.
    """
    for path in paths:
        if path.suffix not in SUFFIXES:
            raise ConfigError(f"export={path}: the file name must end in {', '.join(SUFFIXES)}")
        if path.is_dir():
            raise ConfigError(f"export={path} is a directory")
        if path.suffix == ".onnx":
            missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
            if missing:
                raise ConfigError(f"export={path} needs {', '.join(missing)}: {install_hint('onnx')}")
        existing = existing_parent(path.parent.absolute())
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as error:
            raise ConfigError(f"export={path}: cannot write there ({existing}: {error.strerror or error})") from None


def export_network(net: torch.nn.Module, paths: Sequence[Path], example: torch.Tensor) -> dict[str, float]:
    """Write `net` to each of `paths` by suffix; traced formats are checked against `net` on a batch.

    Args:
        net: The trained network.
        paths: The files to write.
        example: Input images the network takes (their batch size is the traced one).

    Returns:
        The largest absolute difference from the network's outputs, for each checked file.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> differences = export_network(torch.nn.Conv2d(1, 2, 3), [folder / 'net.pt2'], torch.randn(2, 1, 8, 8))
        exported ...net.pt2: largest difference from the network on a batch of 3: 0
        >>> differences['net.pt2'] < 1e-5
        True
    """
    model = copy.deepcopy(net).cpu().eval()
    example = example.detach().cpu().float()
    batch = torch.randn(CHECK_BATCH, *example.shape[1:], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(batch)
    differences = {}
    for path in paths:
        if path.suffix == ".safetensors":
            export_weights(model, path)
            continue
        writer = export_onnx if path.suffix == ".onnx" else export_program
        differences[path.name] = difference = writer(model, path, example, batch, expected)
        print(f"exported {path}: largest difference from the network on a batch of {CHECK_BATCH}: {difference:.3g}")
    return differences


def export_weights(net: torch.nn.Module, path: Path) -> None:
    """Save the bare network's weights as .safetensors (loadable with `load_checkpoint`)."""
    from safetensors.torch import save

    with atomic_file(path) as file:
        file.write(save({name: tensor.contiguous() for name, tensor in net.state_dict().items()}))
    log.info("exported the network's weights to %s", path)


def batch_axis() -> tuple[dict[int, Any]]:
    """The dynamic shapes of a network's one input: its first axis, the batch."""
    return ({0: torch.export.Dim("batch")},)


def export_program(
    model: torch.nn.Module, path: Path, example: torch.Tensor, batch: torch.Tensor, expected: torch.Tensor
) -> float:
    """`torch.export` the model to `path` (.pt2), load it back and return its largest difference on `batch`."""
    program = torch.export.export(model, (example,), dynamic_shapes=batch_axis())
    with atomic_file(path) as file:
        torch.export.save(program, file)
    loaded = torch.export.load(path).module()
    with torch.no_grad():
        return float((loaded(batch) - expected).abs().max())


def export_onnx(
    model: torch.nn.Module, path: Path, example: torch.Tensor, batch: torch.Tensor, expected: torch.Tensor
) -> float:
    """Export the model to ONNX at `path`, run it with onnxruntime and return its largest difference on `batch`."""
    import onnx
    import onnxruntime

    program = torch.onnx.export(model, (example,), dynamo=True, dynamic_shapes=batch_axis(), verbose=False)
    buffer = io.BytesIO()
    onnx.save_model(program.model_proto, buffer)
    with atomic_file(path) as file:
        file.write(buffer.getvalue())
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: batch.numpy()})
    return float((torch.from_numpy(output) - expected).abs().max())
