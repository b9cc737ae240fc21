"""Adds `conf/layers` to Hydra's search path for toolkit's own app, so `norm=gn` selects a layer."""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

CONF = Path(__file__).resolve().parents[2] / "conf"


class ToolkitSearchPathPlugin(SearchPathPlugin):
    """Appends `conf/layers` only when toolkit's `conf/` is the app's config folder."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        ours = {f"file://{CONF}", str(CONF)}
        if any(element.path in ours for element in search_path.get_path()):
            search_path.append(provider="toolkit-layers", path=f"file://{CONF / 'layers'}")
