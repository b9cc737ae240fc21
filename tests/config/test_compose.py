import itertools
import re
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ValidationError

from toolkit.config import SCHEMAS
from toolkit.config.bridge import ConfigError, to_builder_cfg

from ..conftest import built, swapped

CONF = Path(__file__).resolve().parents[2] / "conf"
LAYER_GROUPS = ("conv", "norm", "act")
NEEDS = {("init", "pretrained"): ["init.checkpoint=weights.pth"], ("data", "folder"): ["data.root=/images"]}
SCHEMA_LINE = re.compile(r"- /schema/([\w/]+)/(\w+)@_here_")


def option_file(group: str, option: str) -> Path:
    return CONF / ("layers" if group in LAYER_GROUPS else "") / group / f"{option}.yaml"


def options_on_disk() -> list[tuple[str, str]]:
    """Every option file of the config tree, as (group, option)."""
    return [(group, path.stem) for group in SCHEMAS for path in sorted(option_file(group, "x").parent.glob("*.yaml"))]


OPTIONS = options_on_disk()


def options_of(group: str) -> list[str]:
    return [option for each, option in OPTIONS if each == group]


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_every_option_composes_with_the_schema_of_its_type(option_config, group, option):
    cfg = option_config(group, option, *NEEDS.get((group, option), []))
    schema_group, schema_name = SCHEMA_LINE.search(option_file(group, option).read_text()).groups()
    schema = OmegaConf.select(cfg, group.replace("/", "."))._metadata.object_type  # augment/crop: augment.crop
    assert schema_group == group and schema.__name__ == schema_name and schema in SCHEMAS[group]


def test_defaults(compose_config):
    cfg = compose_config()
    chosen = {group: cfg[group] for group in ("conv", "norm", "act", "init", "model", "data")}
    assert to_builder_cfg(chosen["conv"]) == {"type": "Conv2d", "padding_mode": "zeros"}
    assert to_builder_cfg(chosen["norm"]) == {"type": "BN"}
    assert to_builder_cfg(chosen["act"]) == {"type": "ReLU"}
    assert chosen["init"].type == "Kaiming"
    assert chosen["model"]._target_ == "toolkit.models.SimpleCNN"
    assert chosen["data"]._target_ == "toolkit.training.data.DigitsData" and chosen["data"].seed == cfg.seed == 0
    assert list(cfg.callbacks) == ["best_checkpoint", "last_checkpoint", "lr_monitor", "progress_bar"]
    assert list(cfg.logger) == ["csv"] and cfg.optimized_metric == "val_acc" and cfg.tags == []


def build_and_step(base, choices, option_config):
    """The model of `base` with the `choices` ({group: option}) swapped in, after one backward pass."""
    model = built(swapped(base, choices, option_config))
    x = torch.randn(4, 1, 8, 8)
    model(x).square().mean().backward()
    return model


NORMS, ACTS = options_of("norm"), options_of("act")
INITS = [option for option in options_of("init") if option != "pretrained"]


@pytest.mark.parametrize("init", INITS)
def test_every_norm_act_init_combination_builds_and_trains_a_step(compose_config, option_config, init):
    base = compose_config("model.widths=[8,16]")  # narrow: 702 builds, each with every layer type
    torch.manual_seed(0)
    for norm, act in itertools.product(NORMS, ACTS):
        model = build_and_step(base, {"norm": norm, "act": act, "init": init}, option_config)
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), (norm, act, init)


@pytest.mark.parametrize("conv", options_of("conv"))
def test_every_conv_option_builds_and_trains_a_step(compose_config, option_config, conv):
    model = build_and_step(compose_config(), {"conv": conv}, option_config)
    first = model.stages[0][0]
    assert first.with_explicit_padding == (conv.startswith("conv2d_"))
    assert type(first.conv).__name__ == ("ConvWS2d" if conv == "conv_ws" else "Conv2d")


def test_misspelt_key_is_rejected_naming_it(compose_config):
    with pytest.raises(ConfigCompositionException, match="num_grups") as raised:
        compose_config("norm=gn", "norm.num_grups=8")
    assert "Key 'num_grups' not in 'GroupNormConfig'" in str(raised.value.__cause__)


def test_wrong_type_is_rejected_naming_key_and_value(compose_config):
    with pytest.raises(ConfigCompositionException, match=r"norm\.eps=abc") as raised:
        compose_config("norm.eps=abc")
    assert isinstance(raised.value.__cause__, ValidationError)
    assert "could not be converted to Float" in str(raised.value.__cause__)


def test_unknown_option_lists_the_available_ones(compose_config):
    with pytest.raises(Exception, match=r"(?s)Could not find 'norm/nosuchnorm'.*Available options in 'norm'.*gn"):
        compose_config("norm=nosuchnorm")


def test_unknown_trainer_argument_is_rejected(compose_config):
    with pytest.raises(ConfigCompositionException) as raised:
        compose_config("trainer.max_epoch=3")
    assert isinstance(raised.value.__cause__, ConfigAttributeError)
    assert "Key 'max_epoch' not in 'TrainerConfig'" in str(raised.value.__cause__)


def test_optional_fields_stay_out_unless_set(compose_config):
    assert to_builder_cfg(compose_config("norm=gn").norm) == {"type": "GN", "num_groups": 8}
    assert to_builder_cfg(compose_config("norm=gn", "norm.eps=0.001").norm) == {
        "type": "GN",
        "num_groups": 8,
        "eps": 0.001,
    }


def test_gn_groups_that_do_not_divide_fail_at_build_naming_key_layer_and_value(compose_config):
    expected = r"norm=\{'type': 'GN', 'num_groups': 3\}.*layer stages\.0\.0: GN: num_groups=3 does not divide the 32"
    with pytest.raises(ConfigError, match=expected):
        built(compose_config("norm=gn", "norm.num_groups=3"))


def test_pretrained_without_checkpoint_fails_naming_the_key(compose_config):
    with pytest.raises(ConfigError, match=r"init=pretrained needs init\.checkpoint"):
        built(compose_config("init=pretrained"))


def test_pretrained_through_the_config(compose_config, tmp_path):
    source = built(compose_config())
    torch.save({"state_dict": source.state_dict()}, tmp_path / "source.pth")
    model = built(compose_config("init=pretrained", f"init.checkpoint={tmp_path / 'source.pth'}"))
    for name, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    assert {row.initializer.split("(")[0] for row in model.init_report()} == {"Pretrained"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("mode=trian", "Invalid value 'trian', expected one of [train, eval, predict, lr_find]"),
        ("threads=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
        ("seed=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
    ],
)
def test_top_level_keys_are_typed_by_the_root_schema(compose_config, override, message):
    with pytest.raises(ConfigCompositionException, match=re.escape(override)) as raised:
        compose_config(override)
    cause = str(raised.value.__cause__)
    assert message in cause and f"full_key: {override.split('=')[0]}" in cause and "TrainConfig" in cause


def test_an_unknown_option_of_a_group_lists_the_options(compose_config):
    with pytest.raises(Exception, match=r"Could not find 'logger/nosuch'[\s\S]*Available options in 'logger':"):
        compose_config("logger=nosuch")
