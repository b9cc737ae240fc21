import socket
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from toolkit.cnn.sync_bn import SyncBatchNorm, convert_sync_batchnorm

WORKER = Path(__file__).with_name("sync_bn_worker.py")
sys.path.insert(0, str(WORKER.parent))
from sync_bn_worker import shared_inputs  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_gloo_processes_match_one_process_on_the_whole_batch(tmp_path):
    port = free_port()
    outputs = [tmp_path / f"rank{rank}.pt" for rank in range(2)]
    workers = [  # -W: a FutureWarning (a deprecated torch API) fails the ranks, as pytest's filter does here
        subprocess.Popen(
            [sys.executable, "-W", "error::FutureWarning", str(WORKER), str(rank), "2", str(port), str(outputs[rank])]
        )
        for rank in range(2)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    ranks = [torch.load(path, weights_only=True) for path in outputs]

    batch, weights, layer = shared_inputs()
    reference = nn.BatchNorm2d(4, momentum=0.2)
    reference.load_state_dict(layer.state_dict())
    x = batch.clone().requires_grad_()
    out = reference(x)
    (out * weights).sum().backward()

    close = dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat([r["out"] for r in ranks]), out.detach(), **close)
    torch.testing.assert_close(torch.cat([r["x_grad"] for r in ranks]), x.grad, **close)
    torch.testing.assert_close(sum(r["weight_grad"] for r in ranks), reference.weight.grad, **close)
    torch.testing.assert_close(sum(r["bias_grad"] for r in ranks), reference.bias.grad, **close)
    for r in ranks:
        torch.testing.assert_close(r["running_mean"], reference.running_mean, **close)
        torch.testing.assert_close(r["running_var"], reference.running_var, **close)


def test_one_process_and_eval_behave_as_batchnorm():
    layer, reference = SyncBatchNorm(3), nn.BatchNorm2d(3)
    x = torch.randn(6, 3, 4, 4)
    torch.testing.assert_close(layer(x), reference(x))
    torch.testing.assert_close(layer.running_var, reference.running_var)
    layer.eval(), reference.eval()
    torch.testing.assert_close(layer(x), reference(x))


def test_convert_keeps_parameters_and_statistics():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm1d(2)))
    nn.init.constant_(model[1].weight, 0.5)
    model[1].running_mean.fill_(2.0)
    model[1].bias.requires_grad = False
    convert_sync_batchnorm(model)
    assert isinstance(model[1], SyncBatchNorm) and isinstance(model[2][0], SyncBatchNorm)
    assert model[1].weight.unique().tolist() == [0.5] and model[1].running_mean.unique().tolist() == [2.0]
    assert model[1].bias.requires_grad is False and isinstance(model[0], nn.Conv2d)
