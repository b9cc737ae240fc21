"""The choices that `--help` lists, read from the config tree itself (the shipped one and any folder
the user adds with `--config-dir` or `hydra.searchpath`), so a new option file shows up at once.

The help template in `conf/config.yaml` asks for them as `${toolkit_choices:}`.
"""

from __future__ import annotations

from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType
from omegaconf import OmegaConf

CONFIG_NAME = "config"
# Hydra's own groups (--hydra-help lists them), the dataclass schemas, and conf/layers, whose groups
# (conv, norm, act) are on the search path under their short names.
HIDDEN = ("hydra", "schema", "layers")


def option_groups(loader: Any, parent: str = "") -> dict[str, list[str]]:
    """Every group under `parent` with its options, except the hidden ones, with `hydra.searchpath` applied."""
    found = {}
    for name in loader.get_group_options(parent, ObjectType.GROUP, config_name=CONFIG_NAME):
        group = f"{parent}/{name}" if parent else name
        if group.split("/")[0] in HIDDEN:
            continue
        options = loader.get_group_options(group, ObjectType.CONFIG, config_name=CONFIG_NAME)
        if options:
            found[group] = options
        found.update(option_groups(loader, group))
    return found


def choices() -> str:
    """A line per group: `norm: bn, gn, in, ln, none, syncbn`."""
    groups = option_groups(GlobalHydra.instance().config_loader())
    return "\n".join(f"{group}: {', '.join(options)}" for group, options in sorted(groups.items()))


OmegaConf.register_new_resolver("toolkit_choices", choices, replace=True)
