"""The toolkit's Hydra plugins, made known to Hydra from any folder.

Hydra finds plugins by listing the `hydra_plugins` folders on `sys.path`. An editable install
(`pip install -e .`) maps the toolkit's modules without putting its folder there, so from outside
the repository Hydra would not know `hydra_plugins.toolkit_launcher.SlurmLauncher`
(`hydra/launcher=slurm`) or `hydra_plugins.toolkit_sweeper.OptunaSweeper` (`hparams_search=optuna`);
`register_plugins` tells it of them by name.
"""

from __future__ import annotations

import importlib

from hydra.core.plugins import Plugins

PLUGIN_MODULES = ("hydra_plugins.toolkit_launcher", "hydra_plugins.toolkit_sweeper")


def register_plugins() -> list[str]:
    """Register the plugins whose extras are installed with Hydra; returns their `_target_` names.

    Example:
        >>> 'hydra_plugins.toolkit_launcher.SlurmLauncher' in register_plugins()  # the sweep extra
        True
    """
    plugins = Plugins.instance()  # scans the plugins on sys.path first, which may import these modules again
    registered = []
    for name in PLUGIN_MODULES:
        for plugin in importlib.import_module(name).PLUGINS:
            plugins.register(plugin)
            registered.append(f"{plugin.__module__}.{plugin.__name__}")
    return registered
