import logging
import pathlib

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from toolkit import load_checkpoint, load_state_dict
from toolkit.checkpoint import CheckpointError


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)


def state(value: float) -> dict[str, torch.Tensor]:
    net = Net()
    for tensor in net.state_dict().values():
        tensor.fill_(value)
    return net.state_dict()


class Exploit:
    """Unpickling this creates a file: the kind of checkpoint that must never be opened blindly."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_bare_state_dict_and_nested_forms(tmp_path):
    for key in (None, "state_dict", "model"):
        path = tmp_path / f"{key}.pth"
        torch.save(state(2.0) if key is None else {key: state(2.0), "meta": {"epoch": 3}}, path)
        net = Net()
        checkpoint = load_checkpoint(net, str(path))
        assert net.conv.weight.unique().tolist() == [2.0]
        assert isinstance(checkpoint, dict)


def test_module_prefix_and_revise_keys(tmp_path):
    path = tmp_path / "ddp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state(3.0).items()}}, path)
    net = Net()
    load_checkpoint(net, str(path), strict=True)
    assert net.bn.weight.unique().tolist() == [3.0]
    renamed = tmp_path / "renamed.pth"
    torch.save({f"backbone.stem.{k}": v for k, v in state(4.0).items()}, renamed)
    load_checkpoint(net, str(renamed), revise_keys=[(r"^backbone\.", ""), (r"^stem\.", "")], strict=True)
    assert net.conv.bias.unique().tolist() == [4.0]


def test_reports_missing_unexpected_and_mismatched_by_name(tmp_path, caplog):
    checkpoint = state(5.0)
    del checkpoint["bn.weight"]
    checkpoint["head.weight"] = torch.zeros(1)
    checkpoint["conv.bias"] = torch.zeros(7)
    path = tmp_path / "partial.pth"
    torch.save(checkpoint, path)
    net = Net()
    bias_before = net.conv.bias.clone()
    with caplog.at_level(logging.WARNING, logger="toolkit.checkpoint"):
        load_checkpoint(net, str(path))
    assert "unexpected keys in the source state_dict: head.weight" in caplog.text
    assert "missing keys in the source state_dict: bn.weight" in caplog.text
    assert "size mismatch: conv.bias (checkpoint (7,), model (4,))" in caplog.text
    assert net.conv.weight.unique().tolist() == [5.0]
    torch.testing.assert_close(net.conv.bias, bias_before)
    with pytest.raises(CheckpointError, match=r"(?s)does not fit Net.*head\.weight.*bn\.weight.*conv\.bias"):
        load_checkpoint(Net(), str(path), strict=True)


def test_custom_logger_and_silent(caplog):
    logger = logging.getLogger("my.app")
    with caplog.at_level(logging.WARNING):
        load_state_dict(Net(), {"extra": torch.zeros(1)}, logger=logger)
        assert caplog.records[-1].name == "my.app"
        caplog.clear()
        result = load_state_dict(Net(), {"extra": torch.zeros(1)}, logger="silent")
    assert caplog.records == [] and result.unexpected_keys == ["extra"]


def test_safetensors_file(tmp_path):
    path = tmp_path / "net.safetensors"
    save_file(state(6.0), str(path))
    net = Net()
    load_checkpoint(net, str(path), strict=True)
    assert net.conv.weight.unique().tolist() == [6.0]


def test_lightning_checkpoint_loads_the_bare_network(tmp_path):
    path = tmp_path / "last.ckpt"
    wrapped = {f"net.{k}": v for k, v in state(7.0).items()}
    torch.save(
        {"pytorch-lightning_version": "2.6.0", "epoch": 2, "state_dict": wrapped, "network_prefix": "net."}, path
    )
    net = Net()
    load_checkpoint(net, str(path), strict=True)
    assert net.bn.bias.unique().tolist() == [7.0]


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": state(1.0), "payload": Exploit(marker)}, path)
    refused = r"refused to load .*evil\.pth.*If you trust this file, pass weights_only=False"
    with pytest.raises(CheckpointError, match=refused):
        load_checkpoint(Net(), str(path))
    assert not marker.exists()


def test_opting_out_for_a_trusted_file(tmp_path):
    path = tmp_path / "trusted.pth"
    torch.save({"state_dict": state(1.0), "note": pathlib.PurePosixPath("/data")}, path)
    net = Net()
    checkpoint = load_checkpoint(net, str(path), weights_only=False)
    assert checkpoint["note"] == pathlib.PurePosixPath("/data")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_files_name_the_file(tmp_path, damage):
    path = tmp_path / "broken.pth"
    torch.save(state(1.0), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 100)
    with pytest.raises(CheckpointError, match=r"broken\.pth.* (truncated or corrupt|is not a checkpoint)"):
        load_checkpoint(Net(), str(path))


def test_missing_file_and_prefix_without_keys(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(Net(), str(tmp_path / "nope.pth"))
    path = tmp_path / "net.pth"
    torch.save(state(1.0), path)
    with pytest.raises(CheckpointError, match=r"no key of .* starts with the prefix 'backbone\.'"):
        load_checkpoint(Net(), str(path), prefix="backbone.")


def test_corrupt_safetensors(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(
        CheckpointError, match=r"bad\.safetensors' is not a checkpoint.*starts with b'not a safetensors"
    ):
        load_checkpoint(Net(), str(path))


def short_storage_record(path: pathlib.Path) -> None:
    """Rewrite a torch zip file so that the record of its first storage is 4 bytes short."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        records = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for info, data in records:
            archive.writestr(info, data[:-4] if info.filename.endswith("data/0") else data)


def test_a_short_storage_record_is_corrupt_even_memory_mapped(tmp_path):
    path = tmp_path / "short.pth"
    torch.save(state(1.0), path)
    short_storage_record(path)
    with pytest.raises(CheckpointError, match=r"short\.pth' is corrupt: the storage record .*data/0 holds \d+ bytes"):
        load_checkpoint(Net(), str(path), strict=True)


def test_a_bit_flipped_in_a_tensor_is_refused_by_its_crc(tmp_path):
    import zipfile

    path = tmp_path / "flipped.pth"
    torch.save(state(1.0), path)
    with zipfile.ZipFile(path) as archive:
        record = next(info for info in archive.infolist() if info.filename.endswith("data/0"))
    data = bytearray(path.read_bytes())
    start = (
        record.header_offset
        + 30
        + len(record.filename)
        + int.from_bytes(data[record.header_offset + 28 :][:2], "little")
    )
    data[start] ^= 0x01  # one bit of the first weight, which torch would read as another number
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"flipped\.pth' is corrupt: its record .*data/0 fails its CRC check"):
        load_checkpoint(Net(), str(path))


@pytest.mark.parametrize(
    ("write", "error", "message"),
    [
        (
            lambda path: path.write_text("not a checkpoint\n"),
            CheckpointError,
            r"text\.pth' is not a checkpoint.*b'not a",
        ),
        (lambda path: path.write_bytes(b""), CheckpointError, r"text\.pth' is empty \(0 bytes\)"),
        (lambda path: path.mkdir(), CheckpointError, r"text\.pth' is a directory, not a file"),
    ],
)
def test_files_that_are_no_checkpoints_say_what_they_are(tmp_path, write, error, message):
    write(tmp_path / "text.pth")
    with pytest.raises(error, match=message):
        load_checkpoint(Net(), str(tmp_path / "text.pth"))


def test_bad_arguments_are_named(tmp_path):
    path = tmp_path / "w.pth"
    torch.save(state(1.0), path)
    with pytest.raises(TypeError, match=r"a checkpoint file name must be a str or os\.PathLike, got NoneType"):
        load_checkpoint(Net(), None)
    with pytest.raises(CheckpointError, match=r"map_location='gpu0' is not a device"):
        load_checkpoint(Net(), str(path), map_location="gpu0")
    with pytest.raises(TypeError, match=r"map_location must be None, a torch\.device"):
        load_checkpoint(Net(), str(path), map_location=3)
    with pytest.raises(CheckpointError, match=r"revise_keys pattern '\(' is not a valid regular expression"):
        load_checkpoint(Net(), str(path), revise_keys=[("(", "")])
    with pytest.raises(TypeError, match="each revise_keys rule must be a"):
        load_checkpoint(Net(), str(path), revise_keys=["^module"])
    model = Net()
    load_checkpoint(model, path)  # a pathlib.Path is a file name too
    assert model.conv.weight.unique().tolist() == [1.0]


def test_state_dicts_with_non_tensor_values_or_non_string_keys(tmp_path):
    path = tmp_path / "odd.pth"
    torch.save({**state(1.0), "conv.bias": "zeros"}, path)
    with pytest.raises(CheckpointError, match=r"conv\.bias \(checkpoint holds a str, not a tensor\)"):
        load_checkpoint(Net(), str(path), strict=True)
    model = Net()
    result_logger = logging.getLogger("odd")
    load_checkpoint(model, str(path), logger=result_logger)
    assert model.conv.weight.unique().tolist() == [1.0]
    torch.save({0: torch.zeros(1), **state(1.0)}, path)
    with pytest.raises(CheckpointError, match=r"a state dict's keys must be strings, got 0 \(int\)"):
        load_checkpoint(Net(), str(path))


def test_revise_keys_that_merge_two_keys(tmp_path):
    path = tmp_path / "two.pth"
    torch.save({"module.conv.weight": torch.zeros(4, 3, 3, 3), "conv.weight": torch.ones(4, 3, 3, 3)}, path)
    merge = r"maps both 'module\.conv\.weight' and 'conv\.weight' to 'conv\.weight'"
    with pytest.raises(CheckpointError, match=merge):
        load_checkpoint(Net(), str(path), strict=True)
    with pytest.warns(UserWarning, match=merge):
        load_checkpoint(Net(), str(path))
