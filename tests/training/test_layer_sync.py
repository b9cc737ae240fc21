from torch import nn

from toolkit.cnn.sync_bn import SyncBatchNorm
from toolkit.training.ddp import AnyDeviceDDPStrategy, strategy_for
from toolkit.training.sync_bn import ToolkitSyncBatchNorm


def test_layer_sync_converts_and_reverts_every_batchnorm():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm1d(4)))
    nn.init.constant_(model[1].weight, 0.25)
    plugin = ToolkitSyncBatchNorm()
    synced = plugin.apply(model)
    assert isinstance(synced[1], SyncBatchNorm) and isinstance(synced[2][0], SyncBatchNorm)
    reverted = plugin.revert(synced)
    assert not any(isinstance(layer, nn.SyncBatchNorm) for layer in reverted.modules())
    assert reverted[1].weight.unique().tolist() == [0.25]


def test_ddp_strategies_allow_toolkit_sync_bn():
    spawn = strategy_for("ddp_spawn")
    assert isinstance(spawn, AnyDeviceDDPStrategy) and spawn._start_method == "spawn"
    assert strategy_for("ddp")._start_method == "popen"
    assert strategy_for("auto") == "auto"
