"""`export=` by suffix: ONNX (run back with onnxruntime) and torch.export programs agree with the trained network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from toolkit import load_checkpoint
from toolkit.errors import ConfigError
from toolkit.models import SimpleCNN
from toolkit.training.run import run


def test_onnx_and_pt2_exports_agree_with_the_trained_network(compose_config, tmp_path, capsys):
    import onnxruntime

    files = [tmp_path / "out" / name for name in ("net.onnx", "net.pt2", "net.safetensors")]
    run(
        compose_config("trainer.max_epochs=1", "model.widths=[8,16]", f"export=[{','.join(map(str, files))}]"), tmp_path
    )
    net = SimpleCNN(1, 10, widths=(8, 16)).eval()
    load_checkpoint(net, str(files[2]), strict=True)  # the trained weights
    batch = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = net(batch)
    session = onnxruntime.InferenceSession(str(files[0]), providers=["CPUExecutionProvider"])
    (onnx_output,) = session.run(None, {session.get_inputs()[0].name: batch.numpy()})
    assert np.abs(onnx_output - expected.numpy()).max() <= 1e-4
    program = torch.export.load(files[1]).module()
    with torch.no_grad():
        assert (program(batch) - expected).abs().max() <= 1e-5
    recorded = json.loads((tmp_path / "metrics.json").read_text())["export_max_difference"]
    assert sorted(recorded) == ["net.onnx", "net.pt2"] and max(recorded.values()) <= 1e-4
    assert f"exported {files[0]}: largest difference from the network on a batch of 3" in capsys.readouterr().out


def test_bad_exports_stop_before_training(compose_config, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"export=net\.xyz: the file name must end in \.safetensors, \.onnx, \.pt2"):
        run(compose_config("export=net.xyz"), tmp_path / "suffix")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "onnxruntime" else real(name))
    with pytest.raises(ConfigError, match=r"export=net\.onnx needs onnxruntime: pip install 'toolkit\[export\]'"):
        run(compose_config("export=net.onnx"), tmp_path / "missing")
    assert not (tmp_path / "suffix").exists() and not (tmp_path / "missing").exists()
