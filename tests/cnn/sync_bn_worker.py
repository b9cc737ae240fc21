"""One rank of the SyncBatchNorm test: BN over its slice of a shared batch, synced through gloo.

Usage: python sync_bn_worker.py RANK WORLD_SIZE PORT OUTPUT
"""

import sys

import torch
import torch.distributed as dist

from toolkit.cnn.sync_bn import SyncBatchNorm

SIZES = (3, 5)  # unequal batch sizes per rank


def shared_inputs() -> tuple[torch.Tensor, torch.Tensor, SyncBatchNorm]:
    """The whole batch, the loss weights and the layer, identical on every rank."""
    generator = torch.Generator().manual_seed(0)
    batch = torch.randn(sum(SIZES), 4, 5, 5, generator=generator) * 3 + 1
    weights = torch.randn(batch.shape, generator=generator)
    layer = SyncBatchNorm(4, momentum=0.2)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(4, generator=generator) + 0.5)
        layer.bias.copy_(torch.randn(4, generator=generator))
    return batch, weights, layer


def main() -> None:
    rank, world, port, output = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    batch, weights, layer = shared_inputs()
    start = sum(SIZES[:rank])
    part = slice(start, start + SIZES[rank])
    x = batch[part].clone().requires_grad_()
    out = layer(x)
    (out * weights[part]).sum().backward()
    torch.save(
        {
            "out": out.detach(),
            "x_grad": x.grad,
            "weight_grad": layer.weight.grad,
            "bias_grad": layer.bias.grad,
            "running_mean": layer.running_mean,
            "running_var": layer.running_var,
        },
        output,
    )
    dist.barrier()  # both ranks are done with the group before either tears it down
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
