import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from toolkit.init import INITIALIZERS, KaimingInit, PretrainedInit, initialize


class FooNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.feat = nn.Conv1d(3, 1, 3)
        self.reg = nn.Conv2d(3, 3, 3)
        self.cls = nn.Linear(1, 2)


class FooNetSeq(nn.Module):
    def __init__(self):
        super().__init__()
        self.feat = nn.Conv1d(3, 1, 3)
        self.reg = nn.Conv2d(3, 3, 3)
        self.cls = nn.Sequential(nn.Conv1d(3, 1, 3), nn.Linear(1, 2))


def values(tensor):
    return tensor.unique().tolist()


def test_seed_layer_key_same_config():
    model = FooNet()
    initialize(model, dict(type="Constant", layer=["Conv1d", "Conv2d", "Linear"], val=1))
    for layer in (model.feat, model.reg, model.cls):
        assert values(layer.weight) == [1.0] and values(layer.bias) == [0.0]


def test_seed_layer_key_different_configs():
    model = FooNet()
    init_cfg = [
        dict(type="Constant", layer="Conv1d", val=1),
        dict(type="Constant", layer="Conv2d", val=2),
        dict(type="Constant", layer="Linear", val=3),
    ]
    initialize(model, init_cfg)
    assert (values(model.feat.weight), values(model.reg.weight), values(model.cls.weight)) == ([1.0], [2.0], [3.0])


def test_seed_override_key():
    model = FooNetSeq()
    init_cfg = dict(
        type="Constant",
        layer=["Conv1d", "Conv2d"],
        val=1,
        bias=2,
        override=dict(type="Constant", name="reg", val=3, bias=4),
    )
    initialize(model, init_cfg)
    assert (values(model.feat.weight), values(model.feat.bias)) == ([1.0], [2.0])
    assert (values(model.cls[0].weight), values(model.cls[0].bias)) == ([1.0], [2.0])
    assert (values(model.reg.weight), values(model.reg.bias)) == ([3.0], [4.0])
    assert values(model.cls[1].bias) != [2.0]


def test_seed_override_without_layer_inherits_outer_config():
    model = FooNetSeq()
    feat_before = model.feat.weight.clone()
    initialize(model, dict(type="Constant", val=1, bias=2, override=dict(name="reg")))
    assert (values(model.reg.weight), values(model.reg.bias)) == ([1.0], [2.0])
    torch.testing.assert_close(model.feat.weight, feat_before)


def test_seed_no_layer_no_override_initializes_nothing():
    model = FooNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    initialize(model, dict(type="Constant", val=1, bias=2))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key])


def test_seed_invalid_override_without_name():
    model = FooNetSeq()
    before = model.feat.weight.clone()
    init_cfg = dict(type="Constant", layer=["Conv1d", "Conv2d"], val=1, bias=2, override=dict(type="Constant", val=3))
    with pytest.raises(ValueError, match="an override needs a 'name' key"):
        initialize(model, init_cfg)
    torch.testing.assert_close(model.feat.weight, before)


def test_seed_invalid_override_with_arguments_but_no_type():
    model = FooNetSeq()
    init_cfg = dict(
        type="Constant", layer=["Conv1d", "Conv2d"], val=1, bias=2, override=dict(name="reg", val=3, bias=4)
    )
    with pytest.raises(ValueError, match="an override with arguments needs a 'type' key"):
        initialize(model, init_cfg)


def test_override_of_a_missing_child_suggests_one():
    with pytest.raises(ValueError, match=r"override name 'regg' is not a submodule.*did you mean 'reg'"):
        initialize(FooNet(), dict(type="Constant", val=1, override=dict(name="regg")))


def test_nested_override_name_and_omegaconf_cfg():
    model = nn.Sequential(FooNetSeq())
    cfg = OmegaConf.create(dict(type="Constant", val=5, bias=0, override=dict(name="0.cls")))
    initialize(model, cfg)
    assert values(model[0].cls[0].weight) == [5.0] and values(model[0].cls[1].weight) == [5.0]


def test_layer_matches_any_ancestor_class():
    class MyConv(nn.Conv2d):
        pass

    model = nn.Sequential(MyConv(2, 2, 1), nn.Conv1d(2, 2, 1), nn.ConvTranspose2d(2, 2, 1), nn.Linear(2, 2))
    initialize(model, dict(type="Constant", layer="_ConvNd", val=7))
    assert [values(m.weight) == [7.0] for m in model] == [True, True, True, False]
    initialize(model, dict(type="Constant", layer="Conv2d", val=8))
    assert values(model[0].weight) == [8.0]


def test_unmatched_layer_warns_by_name():
    with pytest.warns(UserWarning, match="layer 'BatchNorm2d' matches no submodule"):
        initialize(FooNet(), dict(type="Constant", layer=["Conv2d", "BatchNorm2d"], val=1))


def test_bias_prob_and_type_errors():
    model = FooNet()
    initialize(model, dict(type="Normal", layer="Linear", std=0.01, bias_prob=0.01))
    assert model.cls.bias.tolist() == pytest.approx([-4.59511985013459] * 2)
    with pytest.raises(KeyError, match=r"'Kaimin' is not in the initializer registry.*did you mean 'Kaiming'"):
        initialize(model, dict(type="Kaimin", layer="Conv2d"))
    with pytest.raises(ValueError, match="distribution must be one of"):
        initialize(model, dict(type="Kaiming", layer="Conv2d", distribution="gaussian"))
    with pytest.raises(ValueError, match="mode must be one of"):
        initialize(model, dict(type="Kaiming", layer="Conv2d", mode="fan_inn"))
    with pytest.raises(TypeError, match="bias must be a number"):
        initialize(model, dict(type="Constant", layer="Conv2d", val=1, bias="0"))
    with pytest.raises(TypeError, match="init_cfg must be a dict"):
        initialize(model, "Kaiming")


def test_registry_holds_every_contract_initializer():
    assert set(INITIALIZERS.module_dict) == {
        "Constant",
        "Xavier",
        "Normal",
        "TruncNormal",
        "Uniform",
        "Kaiming",
        "Caffe2Xavier",
        "Pretrained",
    }
    assert INITIALIZERS.get("Kaiming") is KaimingInit


def test_pretrained_with_prefix_loads_only_that_part(tmp_path, caplog):
    source = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1))
    nn.init.constant_(source[1].weight, 0.25)
    path = tmp_path / "detector.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in source[1].state_dict().items()}}, path)
    target = nn.Conv2d(4, 4, 1)
    PretrainedInit(str(path), prefix="backbone.")(target)
    assert values(target.weight) == [0.25]
    mismatched = FooNet()
    with caplog.at_level("WARNING", logger="toolkit.checkpoint"):
        initialize(mismatched, dict(type="Pretrained", checkpoint=str(path), prefix="backbone."))
    assert "unexpected keys in the source state_dict: weight, bias" in caplog.text
    assert "missing keys in the source state_dict: feat.weight, feat.bias, reg.weight" in caplog.text


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (dict(type="Constant", val="abc"), TypeError, "val must be a number, got str: 'abc'"),
        (dict(type="Normal", std=-1), ValueError, "std must be above 0, got -1"),
        (dict(type="Normal", mean=float("nan")), ValueError, "mean must be a finite number"),
        (dict(type="Uniform", a=1, b=0), ValueError, "a must not exceed b"),
        (dict(type="Xavier", gain=0), ValueError, "gain must be above 0"),
        (dict(type="Constant", val=1, bias="x"), TypeError, "bias must be a number"),
        (dict(type="Constant", val=1, layer=[{}]), TypeError, "layer must be a class name or a list of class names"),
        (dict(type="Constant", val=1, override=5), TypeError, "override must be a dict or a list of dicts, got int: 5"),
        (dict(type="Constant", val=1, override=dict(name=0, type="Constant", val=2)), TypeError, "got 0"),
        (dict(type="Constant", val=1, override=dict(name="", type="Constant", val=2)), TypeError, "got ''"),
    ],
)
def test_bad_values_are_refused_before_any_weight_is_written(bad, error, message):
    model = FooNet()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    with pytest.raises(error, match=message):
        initialize(model, [dict(type="Constant", layer=["Conv1d", "Conv2d", "Linear"], val=3.0), bad])
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name
