"""Runs one job of a `hydra/launcher=slurm` sweep as submitit runs it on a node, with submitit's requeue
signal arriving while Hydra reads the job's first config file; prints how the job ended.

`python signalled_job.py LAUNCHER FOLDER`: LAUNCHER is the launcher's `_target_`. The signal handler
stands in for submitit's, which requeues the job and exits (`sys.exit(-1)`); the output is `task ran`
if the task started, then the name of the exception the job ended with.
"""

import os
import signal
import sys

from hydra import initialize_config_module
from hydra._internal.callbacks import Callbacks
from hydra._internal.sources_registry import SourcesRegistry
from hydra.core.global_hydra import GlobalHydra
from hydra.core.plugins import Plugins
from hydra.core.singleton import Singleton
from hydra.types import HydraContext, RunMode

from toolkit.app import cli


class SignalledOnOpen:
    """A config file that makes SLURM's signal arrive as Hydra opens it."""

    def __init__(self, resource):
        self.resource = resource

    def __getattr__(self, name):
        return getattr(self.resource, name)

    def open(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGUSR2)
        return self.resource.open(*args, **kwargs)


def signalled_once(package_source, read_config):
    """`read_config` (the reader of `package_source`, Hydra's package configs) with its first file signalled."""

    def read(source, resource):
        package_source._read_config = read_config
        return read_config(source, SignalledOnOpen(resource))

    return read


def requeue(signum, frame):
    sys.exit(-1)


def task(cfg):
    print("task ran")


def main(launcher_target: str, folder: str) -> None:
    os.environ.update(SUBMITIT_EXECUTOR="slurm", SLURM_JOB_ID="7", SLURM_ARRAY_JOB_ID="7", SLURM_ARRAY_TASK_ID="0")
    cli.register_configs()
    cli.register_plugins()
    with initialize_config_module(config_module="toolkit.conf", version_base=None):
        loader = GlobalHydra.instance().config_loader()
        overrides = ["hydra/launcher=slurm", f"hydra.launcher._target_={launcher_target}", f"hydra.sweep.dir={folder}"]
        config = loader.load_configuration("config", overrides, RunMode.MULTIRUN)
        context = HydraContext(config_loader=loader, callbacks=Callbacks())
        launcher = Plugins.instance().instantiate_launcher(hydra_context=context, task_function=task, config=config)
        signal.signal(signal.SIGUSR2, requeue)
        package_source = SourcesRegistry.instance().resolve("pkg")  # the class Hydra's plugin scan defined last
        package_source._read_config = signalled_once(package_source, package_source._read_config)
        try:
            launcher(["seed=1"], "hydra.sweep.dir", 0, "job_id_for_0", Singleton.get_state())
        except BaseException as error:  # how the job ended is the output
            print(type(error).__name__)


if __name__ == "__main__":
    main(*sys.argv[1:])
