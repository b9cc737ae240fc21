"""Behaviour that code and tests ported from MMCV 1.x rely on, beyond the seed page."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from toolkit import (
    CONV_LAYERS,
    PADDING_LAYERS,
    BaseModule,
    ConvModule,
    Registry,
    build_conv_layer,
    build_from_cfg,
    build_norm_layer,
    initialize,
    kaiming_init,
    load_checkpoint,
    xavier_init,
)
from toolkit.checkpoint import CheckpointError
from toolkit.init import ConstantInit, PretrainedInit


@pytest.mark.parametrize(
    ("build", "natural"),
    [
        (lambda: ConvModule(3, 4, 3, conv_cfg="Conv2d"), TypeError),
        (lambda: ConvModule(3, 4, 3, norm_cfg=["BN"]), TypeError),
        (lambda: ConvModule(3, 4, 3, act_cfg="ReLU"), TypeError),
        (lambda: ConvModule(3, 4, 3, order=("conv", "act")), ValueError),
        (lambda: build_norm_layer(dict(type="BN"), 4, postfix=[1, 2]), TypeError),
        (lambda: build_norm_layer(dict(type="GN"), 4), KeyError),
        (lambda: xavier_init(nn.Linear(2, 2), distribution="gaussian"), ValueError),
        (lambda: kaiming_init(nn.Linear(2, 2), distribution="gaussian"), ValueError),
    ],
)
def test_validation_errors_are_both_the_natural_type_and_assertion_error(build, natural):
    with pytest.raises(natural) as raised:
        build()
    assert isinstance(raised.value, AssertionError)


def test_an_override_that_names_no_child_is_value_and_runtime_error():
    with pytest.raises(RuntimeError, match="override name 'head' is not a submodule") as raised:
        initialize(nn.Sequential(nn.Linear(2, 2)), dict(type="Constant", val=1, override=dict(name="head")))
    assert isinstance(raised.value, ValueError)


def test_padding_mode_goes_through_the_padding_registry():
    @PADDING_LAYERS.register_module("ones_pad")
    class OnesPad(nn.ConstantPad2d):
        def __init__(self, padding):
            super().__init__(padding, 1.0)

    try:
        module = ConvModule(1, 1, 3, padding=1, padding_mode="ones_pad", bias=True, act_cfg=None)
        assert isinstance(module.padding_layer, OnesPad) and module.conv.padding == (0, 0)
        with torch.no_grad():
            module.conv.weight.fill_(1)
            module.conv.bias.zero_()
        assert module(torch.zeros(1, 1, 3, 3))[0, 0, 0, 0].item() == 5.0  # 5 padded ones in the corner window
    finally:
        PADDING_LAYERS.module_dict.pop("ones_pad")
    with pytest.raises(KeyError, match="'mirror' is not in the padding layer registry"):
        ConvModule(1, 1, 3, padding_mode="mirror")


def test_deconv_names_in_the_conv_registry():
    assert type(build_conv_layer(dict(type="deconv"), 4, 2, 2)) is nn.ConvTranspose2d
    assert CONV_LAYERS.get("deconv3d") is nn.ConvTranspose3d


def test_pretrained_prefix_without_its_dot(tmp_path):
    head = nn.Linear(2, 2)
    torch.save(
        {"backbone.weight": torch.ones(2, 2), "backbone.bias": torch.zeros(2), "head.weight": torch.zeros(2, 2)},
        tmp_path / "w.pth",
    )
    PretrainedInit(str(tmp_path / "w.pth"), prefix="backbone")(head)
    assert head.weight.unique().tolist() == [1.0]
    model = nn.Linear(2, 2)
    load_checkpoint(model, str(tmp_path / "w.pth"), prefix="backbone", strict=True)
    assert model.weight.unique().tolist() == [1.0]


def test_base_module_repr_shows_its_init_cfg():
    module = BaseModule(init_cfg=dict(type="Kaiming", layer="Conv2d"))
    assert repr(module) == "BaseModule()\ninit_cfg={'type': 'Kaiming', 'layer': 'Conv2d'}"
    assert repr(BaseModule()) == "BaseModule()"


def test_registry_old_forms_build_func_scope_and_parent():
    boxes = Registry("box")
    with pytest.warns(DeprecationWarning, match="register_module\\(Cls\\) is deprecated"):

        @boxes.register_module
        class Box:
            def __init__(self, size=1):
                self.size = size

    assert boxes.get("Box") is Box and boxes.build(dict(type="Box", size=3)).size == 3
    assert boxes.scope == "tests" and repr(boxes) == f"Registry(name=box, items={{'Box': {Box!r}}})"
    with pytest.raises(TypeError, match="module must be a class or a function"):
        boxes.register_module(module=Box().__init__)
    with pytest.raises(TypeError, match="default_args must be a dict"):
        build_from_cfg(dict(type="Box"), boxes, default_args=[("size", 2)])
    with pytest.raises(KeyError, match='must contain the key "type"'):
        build_from_cfg(dict(size=2), boxes)

    child = Registry("box", parent=boxes, scope="mine", build_func=lambda cfg, registry: ("built", cfg))
    child.register_module(name="Bag", module=dict)
    assert child.get("Box") is Box  # falls back to the parent
    assert boxes.get("mine.Bag") is dict and "mine.Bag" in boxes and child.get("tests.Box") is Box
    assert child.build(dict(type="Bag")) == ("built", {"type": "Bag"})


def test_missing_checkpoints_are_file_not_found_errors(tmp_path):
    for name in (str(tmp_path / "nope.pth"), "open-mmlab://no/such_model"):
        with pytest.raises(FileNotFoundError) as raised:
            load_checkpoint(nn.Linear(2, 2), name)
        assert isinstance(raised.value, CheckpointError)


def test_an_initializer_under_model_apply_warns_once():
    model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.apply(ConstantInit(val=1, layer="Linear"))
    assert len([w for w in caught if "matches no submodule" in str(w.message)]) == 1


def test_each_modules_saved_version_reaches_its_load_hook_as_in_mmcv(tmp_path):
    from toolkit import save_checkpoint

    class Old(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

    class New(nn.Module):
        _version = 2  # conv1 and conv2 were renamed conv0 and conv1

        def __init__(self) -> None:
            super().__init__()
            self.conv0, self.conv1 = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):
            if (local_metadata.get("version") or 0) < 2:
                for key in list(state_dict):
                    for old, new in (("conv1", "conv0"), ("conv2", "conv1")):
                        if key.startswith(prefix + old):
                            state_dict[key.replace(old, new)] = state_dict.pop(key)
            super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    old, new = Old(), New()
    saved_new = new.conv0.weight.detach().clone()
    save_checkpoint(old, tmp_path / "old.pth")
    save_checkpoint(nn.DataParallel(new), tmp_path / "new.pth")  # the wrapper's versions are its module's
    load_checkpoint(new, str(tmp_path / "old.pth"), strict=True)  # version 1: renamed on the way in
    assert torch.equal(new.conv0.weight, old.conv1.weight) and torch.equal(new.conv1.weight, old.conv2.weight)
    load_checkpoint(new, str(tmp_path / "new.pth"), strict=True)  # version 2: as it is
    assert torch.equal(new.conv0.weight, saved_new)
