import logging

import pytest
import torch
from torch import nn

from toolkit import BaseModule, ConvModule, ModuleDict, ModuleList, Sequential, normal_init


class FooConv1d(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv1d = nn.Conv1d(4, 1, 4)

    def forward(self, x):
        return self.conv1d(x)


class FooConv2d(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv2d = nn.Conv2d(3, 1, 3)

    def forward(self, x):
        return self.conv2d(x)


CFG1 = dict(type="Constant", layer="Conv1d", val=0.0, bias=1.0)
CFG2 = dict(type="Constant", layer="Conv2d", val=2.0, bias=3.0)
OUTER = dict(type="Constant", layer=["Conv1d", "Conv2d"], val=4.0, bias=5.0)


def values(tensor):
    return tensor.unique().tolist()


def assert_inner_configs(first, second):
    assert (values(first.conv1d.weight), values(first.conv1d.bias)) == ([0.0], [1.0])
    assert (values(second.conv2d.weight), values(second.conv2d.bias)) == ([2.0], [3.0])


def test_seed_base_module():
    model = FooConv1d(CFG1)
    model.init_weights()
    assert values(model.conv1d.weight) == [0.0] and values(model.conv1d.bias) == [1.0]


@pytest.mark.parametrize("outer", [None, OUTER])
def test_seed_sequential(outer):
    seq_model = Sequential(FooConv1d(CFG1), FooConv2d(CFG2), init_cfg=outer)
    seq_model.init_weights()
    assert_inner_configs(seq_model[0], seq_model[1])


@pytest.mark.parametrize("outer", [None, OUTER])
def test_seed_module_list(outer):
    modellist = ModuleList([FooConv1d(CFG1), FooConv2d(CFG2)], init_cfg=outer)
    modellist.init_weights()
    assert_inner_configs(modellist[0], modellist[1])


@pytest.mark.parametrize("outer", [None, OUTER])
def test_seed_module_dict(outer):
    modeldict = ModuleDict(dict(model1=FooConv1d(CFG1), model2=FooConv2d(CFG2)), init_cfg=outer)
    modeldict.init_weights()
    assert_inner_configs(modeldict["model1"], modeldict["model2"])


def test_outer_config_reaches_children_without_their_own():
    seq_model = Sequential(FooConv1d(), FooConv2d(), init_cfg=OUTER)
    seq_model.init_weights()
    assert values(seq_model[0].conv1d.weight) == [4.0] and values(seq_model[1].conv2d.bias) == [5.0]


def test_second_call_is_a_no_op_with_a_warning():
    model = FooConv1d(CFG1)
    model.init_weights()
    assert model.is_init
    nn.init.constant_(model.conv1d.weight, 9)
    with pytest.warns(UserWarning, match="init_weights of FooConv1d has been called more than once"):
        model.init_weights()
    assert values(model.conv1d.weight) == [9.0]


def test_plain_containers_are_looked_through():
    class Net(BaseModule):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(FooConv1d(CFG1))

    net = Net()
    net.init_weights()
    assert values(net.blocks[0].conv1d.weight) == [0.0]


def test_pretrained_is_applied_last_and_others_still_initialized(tmp_path):
    source = Sequential(FooConv1d(), FooConv2d())
    nn.init.constant_(source[0].conv1d.weight, 0.5)
    path = tmp_path / "first.pth"
    torch.save({f"0.{k}": v for k, v in source[0].state_dict().items()}, path)
    model = Sequential(FooConv1d(CFG1), FooConv2d(CFG2), init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    model.init_weights()
    assert values(model[0].conv1d.weight) == [0.5]
    assert values(model[1].conv2d.weight) == [2.0]
    rows = {row.name: row.initializer for row in model.init_report()}
    assert rows["0.conv1d.weight"].startswith(f"Pretrained(checkpoint={str(path)!r})")
    assert rows["1.conv2d.weight"].startswith("Constant(layer='Conv2d', val=2.0, bias=3.0)")


def test_init_cfg_is_copied_and_accepts_omegaconf():
    from omegaconf import OmegaConf

    cfg = dict(type="Constant", layer="Conv1d", val=1)
    model = FooConv1d(cfg)
    cfg["val"] = 2
    assert model.init_cfg["val"] == 1
    assert FooConv1d(OmegaConf.create([cfg])).init_cfg == [dict(type="Constant", layer="Conv1d", val=2)]


# The priority rule: explicit configs beat built-in defaults; inner explicit configs beat outer ones.


class Block(BaseModule):
    def __init__(self, init_cfg=None, child_cfg=None):
        super().__init__(init_cfg)
        self.block = ConvModule(8, 8, 3, norm_cfg=dict(type="BN"), init_cfg=child_cfg)


PARENT = [dict(type="Constant", layer="Conv2d", val=0.5), dict(type="Constant", layer="BatchNorm2d", val=2, bias=3)]


def test_parent_config_covering_conv_and_bn_sets_the_conv_module_layers():
    model = Block(init_cfg=PARENT)
    model.init_weights()
    assert values(model.block.conv.weight) == [0.5]
    assert (values(model.block.bn.weight), values(model.block.bn.bias)) == ([2.0], [3.0])


def test_parent_covering_only_bn_leaves_the_conv_default():
    torch.manual_seed(0)
    model = Block(init_cfg=dict(type="Constant", layer="BatchNorm2d", val=2))
    model.init_weights()
    assert values(model.block.bn.weight) == [2.0]
    assert model.block.conv.weight.std().item() == pytest.approx((2 / 72) ** 0.5, rel=0.1)
    rows = {row.name: row.initializer for row in model.init_report()}
    assert rows["block.conv.weight"] == "ConvModule default: kaiming_init(a=0, nonlinearity='relu') [block.conv]"


def test_child_conv_module_with_its_own_init_cfg_keeps_it():
    model = Block(init_cfg=PARENT, child_cfg=dict(type="Constant", layer="Conv2d", val=7))
    model.init_weights()
    assert values(model.block.conv.weight) == [7.0]
    assert values(model.block.bn.weight) == [2.0]


def test_user_written_init_weights_wins_over_parent():
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def init_weights(self):
            nn.init.constant_(self.fc.weight, 0.125)

    model = Sequential(Head(), init_cfg=dict(type="Constant", layer="Linear", val=1))
    model.init_weights()
    assert values(model[0].fc.weight) == [0.125]
    assert values(model[0].fc.bias) == [0.0]
    rows = {row.name: row.initializer for row in model.init_report()}
    assert rows == {
        "0.fc.weight": "Head.init_weights() [0]",
        "0.fc.bias": "Constant(layer='Linear', val=1) [<root>]",
    }


def test_without_a_covering_parent_conv_modules_get_their_default():
    torch.manual_seed(0)
    model = Block(init_cfg=dict(type="Constant", layer="Linear", val=1))
    nn.init.constant_(model.block.bn.weight, 5)
    with pytest.warns(UserWarning, match="'Linear' matches no submodule"):
        model.init_weights()
    assert values(model.block.bn.weight) == [1.0]
    assert model.block.conv.weight.std().item() == pytest.approx((2 / 72) ** 0.5, rel=0.1)


def test_conv_module_own_init_weights_applies_its_default():
    module = ConvModule(8, 8, 3, norm_cfg=dict(type="BN"))
    nn.init.constant_(module.bn.weight, 5)
    module.init_weights()
    assert values(module.bn.weight) == [1.0]


# The report.


class Neck(BaseModule):
    def __init__(self):
        super().__init__(init_cfg=dict(type="Constant", layer="Conv2d", val=3))
        self.lateral = nn.Conv2d(8, 4, 1)
        self.norm = nn.BatchNorm2d(4)


class Detector(BaseModule):
    def __init__(self):
        super().__init__(
            init_cfg=dict(
                type="Normal", layer=["Conv2d", "Linear"], std=0.01, override=dict(type="Constant", name="cls", val=0)
            )
        )
        self.stem = ConvModule(3, 8, 3, norm_cfg=dict(type="BN"))
        self.neck = Neck()
        self.cls = nn.Linear(4, 2)
        self.reg = nn.Linear(4, 4)
        self.head = Head()


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def init_weights(self):
        normal_init(self.fc, std=0.5, bias=1)


def test_report_row_for_every_parameter():
    model = Detector()
    model.init_weights()
    normal = "Normal(layer=['Conv2d', 'Linear'], std=0.01) [<root>]"
    expected = {
        "stem.conv.weight": ((8, 3, 3, 3), normal),
        "stem.bn.weight": ((8,), "ConvModule default: constant_init(val=1, bias=0) [stem.bn]"),
        "stem.bn.bias": ((8,), "ConvModule default: constant_init(val=1, bias=0) [stem.bn]"),
        "neck.lateral.weight": ((4, 8, 1, 1), "Constant(layer='Conv2d', val=3) [neck]"),
        "neck.lateral.bias": ((4,), "Constant(layer='Conv2d', val=3) [neck]"),
        "neck.norm.weight": ((4,), "unchanged (PyTorch default init)"),
        "neck.norm.bias": ((4,), "unchanged (PyTorch default init)"),
        "cls.weight": ((2, 4), "Constant(val=0) override 'cls' [cls]"),
        "cls.bias": ((2,), "Constant(val=0) override 'cls' [cls]"),
        "reg.weight": ((4, 4), normal),
        "reg.bias": ((4,), normal),
        "head.fc.weight": ((4, 4), "Head.init_weights() [head]"),
        "head.fc.bias": ((4,), "Head.init_weights() [head]"),
    }
    assert {row.name: (row.shape, row.initializer) for row in model.init_report()} == expected
    assert values(model.cls.weight) == [0.0] and values(model.neck.lateral.weight) == [3.0]
    assert values(model.head.fc.bias) == [1.0]


def test_report_is_logged_once_as_a_summary(caplog):
    model = Detector()
    with caplog.at_level(logging.DEBUG, logger="toolkit.init"):
        model.init_weights()
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    debugs = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(infos) == 1 and len(debugs) == 1
    summary = infos[0].getMessage()
    assert "init_weights of Detector:" in summary
    assert (
        "Normal(layer=['Conv2d', 'Linear'], std=0.01) [<root>]: 3 parameters, 236 values in stem.conv, reg" in summary
    )
    assert len(summary.splitlines()) == 1 + 6
    assert "head.fc.weight" in debugs[0].getMessage()


def test_report_before_init_weights_says_what_to_do():
    with pytest.raises(RuntimeError, match="call init_weights"):
        Detector().init_report()


def test_same_seed_same_config_bitwise_identical():
    states = []
    for _ in range(2):
        torch.manual_seed(123)
        model = Detector()
        model.init_weights()
        states.append(model.state_dict())
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key
