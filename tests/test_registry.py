import pytest
from omegaconf import OmegaConf

from toolkit.registry import Registry, build_from_cfg


class Box:
    def __init__(self, size: int = 1, color: str = "red") -> None:
        self.size = size
        self.color = color


@pytest.fixture
def boxes() -> Registry:
    registry = Registry("box")
    registry.register_module(module=Box)
    return registry


def test_register_as_decorator_call_and_aliases(boxes):
    @boxes.register_module(name=["Crate", "Chest"])
    class Crate(Box):
        pass

    def make_bag(size):
        return ("bag", size)

    boxes.register_module("Bag", module=make_bag)
    assert boxes.get("Crate") is Crate and boxes.get("Chest") is Crate
    assert "Bag" in boxes and len(boxes) == 4
    assert boxes.module_dict["Box"] is Box
    assert boxes.get("Nothing") is None
    assert repr(boxes) == f"Registry(name=box, items={boxes.module_dict})"  # MMCV's form


def test_taken_name_needs_force(boxes):
    with pytest.raises(KeyError, match="'Box' is already registered in the box registry"):
        boxes.register_module(module=Box)
    other = type("Box", (), {})
    boxes.register_module(module=other, force=True)
    assert boxes.get("Box") is other


def test_register_rejects_bad_arguments(boxes):
    with pytest.raises(TypeError):
        boxes.register_module(module=Box, force="yes")
    with pytest.raises(TypeError):
        boxes.register_module(name=[1, 2], module=Box)
    with pytest.raises(TypeError):
        boxes.register_module(module=42)


def test_build_from_dict_dictconfig_and_class(boxes):
    cfg = {"type": "Box", "size": 3}
    box = build_from_cfg(cfg, boxes, default_args={"color": "blue", "size": 9})
    assert (box.size, box.color) == (3, "blue")
    assert cfg == {"type": "Box", "size": 3}
    from_omegaconf = build_from_cfg(OmegaConf.create({"type": "Box", "size": 5}), boxes)
    assert from_omegaconf.size == 5
    assert build_from_cfg({"type": Box, "color": "green"}, boxes).color == "green"


def test_build_errors_name_registry_types_and_closest(boxes):
    with pytest.raises(TypeError, match="cfg must be a dict"):
        build_from_cfg("Box", boxes)
    with pytest.raises(KeyError, match=r'must contain the key "type".*allowed box types: Box'):
        build_from_cfg({"size": 1}, boxes)
    with pytest.raises(KeyError, match=r"'Bx' is not in the box registry; allowed types: Box \(did you mean 'Box'\?\)"):
        build_from_cfg({"type": "Bx"}, boxes)
    with pytest.raises(TypeError, match="type must be a registered name or a class"):
        build_from_cfg({"type": 3}, boxes)


def test_constructor_error_keeps_type_and_names_layer_and_cfg(boxes):
    with pytest.raises(TypeError, match=r"Box\(sise=3\) failed: .*unexpected keyword argument 'sise'"):
        build_from_cfg({"type": "Box", "sise": 3}, boxes)


def test_constructor_error_of_a_type_that_takes_other_arguments(boxes):
    class StrictError(Exception):
        def __init__(self, code: int, detail: str) -> None:
            super().__init__(code, detail)

    def failing(**kwargs):
        raise StrictError(3, "bad")

    boxes.register_module("Failing", module=failing)
    with pytest.raises(StrictError) as raised:  # the error itself: its type and arguments stay
        build_from_cfg({"type": "Failing", "size": 1}, boxes)
    assert raised.value.args == (3, "bad") and raised.value.__notes__ == ["Failing(size=1) failed"]


def test_deprecated_register_module_warns_as_mmcv_does():
    registry = Registry("old api")

    with pytest.warns(DeprecationWarning, match=r"register_module\(Cls\) is deprecated"):

        @registry.deprecated_register_module
        class Old:
            pass

    with pytest.warns(DeprecationWarning):
        registry.deprecated_register_module(force=True)(Old)  # the decorator with arguments
    assert registry.get("Old") is Old
