"""`toolkit.optim`: MMCV 1.x's build_optimizer, its registries and paramwise_cfg, and the command line's
`optim.paramwise_cfg`, which goes through the same constructor."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from toolkit.config.bridge import build_model, optimizer_factories
from toolkit.optim import OPTIMIZER_BUILDERS, OPTIMIZERS, DefaultOptimizerConstructor, build_optimizer


class Net(nn.Module):
    """A conv with bias, a BN, a depthwise conv, a GN and a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, groups=8)
        self.gn = nn.GroupNorm(2, 8)
        self.head = nn.Linear(8, 2)


def settings(optimizer: torch.optim.Optimizer, model: nn.Module) -> dict[str, tuple[float, float]]:
    """Each parameter's name and its (lr, weight_decay) in `optimizer`."""
    names = {id(param): name for name, param in model.named_parameters()}
    return {
        names[id(param)]: (group["lr"], group["weight_decay"])
        for group in optimizer.param_groups
        for param in group["params"]
    }


def no_decay_is_exactly_norms_and_biases(optimizer: torch.optim.Optimizer, model: nn.Module) -> bool:
    norms = {f"{name}." for name, module in model.named_modules() if isinstance(module, nn.BatchNorm2d | nn.GroupNorm)}
    without = {name for name, (_, decay) in settings(optimizer, model).items() if decay == 0}
    # MMCV's rule: a depthwise conv's bias takes dwconv_decay_mult, not bias_decay_mult
    biases = {name for name, _ in model.named_parameters() if name.endswith("bias") and not name.startswith("dw.")}
    expected = biases | {name for name, _ in model.named_parameters() if name.startswith(tuple(norms))}
    return without == expected and len(expected) < len(list(model.parameters()))


def test_norm_and_bias_decay_mults_of_0_leave_exactly_norms_and_biases_without_decay():
    model = Net()
    cfg = dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4)
    optimizer = build_optimizer(model, dict(cfg, paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0)))
    assert no_decay_is_exactly_norms_and_biases(optimizer, model)
    assert settings(optimizer, model)["conv.weight"] == (0.1, 1e-4)
    plain = build_optimizer(model, cfg)
    assert len(plain.param_groups) == 1 and plain.param_groups[0]["weight_decay"] == 1e-4


def test_the_command_line_groups_parameters_with_the_same_constructor(compose_config):
    cfg = compose_config(
        "optim=sgd",
        "optim.paramwise_cfg.norm_decay_mult=0",
        "optim.paramwise_cfg.bias_decay_mult=0",
        "model.widths=[8,16]",
    )
    net = build_model(cfg, num_classes=10, in_channels=1)
    factory, _ = optimizer_factories(cfg)
    optimizer = factory(net)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["nesterov"]
    assert no_decay_is_exactly_norms_and_biases(optimizer, net)
    assert {decay for _, decay in settings(optimizer, net).values()} == {0.0, 5e-4}
    default_factory, _ = optimizer_factories(compose_config("optim=sgd"))
    assert len(default_factory(net).param_groups) == 1  # no paramwise_cfg: MMCV's single group


def test_lr_and_decay_mults_and_custom_keys_follow_mmcv():
    model = Net()
    paramwise = dict(
        bias_lr_mult=2.0,
        dwconv_decay_mult=0.5,
        custom_keys={"head": dict(lr_mult=0.1, decay_mult=0.0), "head.bias": dict(lr_mult=3.0)},
    )
    optimizer = build_optimizer(model, dict(type="SGD", lr=0.1, weight_decay=1e-4, paramwise_cfg=paramwise))
    got = settings(optimizer, model)
    assert got["conv.bias"] == (0.2, 1e-4)  # bias_lr_mult; its decay left alone
    assert got["bn.bias"] == (0.1, 1e-4)  # a norm's bias keeps the base lr
    assert got["dw.weight"] == (0.1, 5e-5) and got["dw.bias"] == (0.2, 5e-5)
    assert got["head.weight"] == pytest.approx((0.01, 0.0))
    assert got["head.bias"] == pytest.approx((0.3, 1e-4))  # the longest key wins, and no other rule applies


def test_shared_parameters_are_skipped_only_with_bypass_duplicate():
    shared = nn.Conv2d(3, 3, 1)
    model = nn.Sequential(nn.Sequential(shared), nn.Sequential(shared))  # met under two parents
    cfg = dict(type="SGD", lr=0.1, weight_decay=1e-4)
    with pytest.warns(UserWarning, match="is duplicate. It is skipped since bypass_duplicate=True"):
        optimizer = build_optimizer(model, dict(cfg, paramwise_cfg=dict(bypass_duplicate=True, bias_lr_mult=2.0)))
    assert len(optimizer.param_groups) == 2
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        build_optimizer(model, dict(cfg, paramwise_cfg=dict(bias_lr_mult=2.0)))


def test_bad_paramwise_cfgs_name_the_problem():
    with pytest.raises(KeyError, match=r"unknown key 'norm_decay' \(did you mean 'norm_decay_mult'\?\); the keys are"):
        DefaultOptimizerConstructor(dict(type="SGD", lr=0.1, weight_decay=1e-4), dict(norm_decay=0.0))
    with pytest.raises(ValueError, match="base_wd should not be None"):
        DefaultOptimizerConstructor(dict(type="SGD", lr=0.1), dict(norm_decay_mult=0.0))
    with pytest.raises(TypeError, match="paramwise_cfg should be None or a dict"):
        DefaultOptimizerConstructor(dict(type="SGD", lr=0.1), [1])
    with pytest.raises(KeyError, match="SDG"):
        build_optimizer(Net(), dict(type="SDG", lr=0.1))


def test_users_register_optimizers_and_constructors():
    @OPTIMIZERS.register_module()
    class HalfLR(torch.optim.SGD):
        def __init__(self, params, lr: float) -> None:
            super().__init__(params, lr=lr / 2)

    @OPTIMIZER_BUILDERS.register_module()
    class HeadOnly(DefaultOptimizerConstructor):  # with a paramwise key of its own, as MMCV's custom constructors
        def __call__(self, model):
            self.optimizer_cfg["lr"] *= self.paramwise_cfg.pop("head_lr_mult", 1.0)
            return super().__call__(model.head)

    try:
        cfg = dict(type="HalfLR", lr=0.2, constructor="HeadOnly", paramwise_cfg=dict(head_lr_mult=3.0))
        optimizer = build_optimizer(Net(), cfg)
        assert type(optimizer).__name__ == "HalfLR" and optimizer.defaults["lr"] == pytest.approx(0.3)
        assert sum(len(group["params"]) for group in optimizer.param_groups) == 2
    finally:
        OPTIMIZERS.module_dict.pop("HalfLR")
        OPTIMIZER_BUILDERS.module_dict.pop("HeadOnly")


def learning_rates(cfg, epochs: int) -> list[float]:
    factory, schedule_factory = optimizer_factories(cfg)
    optimizer = factory(nn.Linear(2, 2))
    schedule, rates = schedule_factory(optimizer), []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


@pytest.mark.parametrize("sched", ["cosine", "step", "none"])
def test_a_warmup_starts_at_its_fraction_and_reaches_the_schedule(compose_config, sched):
    warmup = ["sched.warmup_epochs=2", "sched.warmup_start_factor=0.25", "trainer.max_epochs=6", "optim.lr=1.0"]
    rates = learning_rates(
        compose_config(f"sched={sched}", *warmup, *(["sched.step_size=2"] if sched == "step" else [])), 6
    )
    assert rates[:3] == pytest.approx([0.25, 0.625, 1.0])
    after = {"cosine": [0.8535534, 0.5, 0.1464466], "step": [1.0, 0.1, 0.1], "none": [1.0, 1.0, 1.0]}[sched]
    assert rates[3:] == pytest.approx(after)  # the cosine decays over the 4 epochs after the warm-up
    assert (optimizer_factories(compose_config(f"sched={sched}"))[1] is None) == (sched == "none")


def test_a_run_logs_the_warmup_learning_rate(compose_config, tmp_path):
    import csv

    from toolkit.training.run import run

    run(compose_config("trainer.max_epochs=2", "sched.warmup_epochs=2", "sched.warmup_start_factor=0.1"), tmp_path)
    with open(tmp_path / "logs" / "metrics.csv") as file:
        logged = [float(row["lr-AdamW"]) for row in csv.DictReader(file) if row["lr-AdamW"]]
    assert logged == pytest.approx([3e-4, 1.65e-3])
