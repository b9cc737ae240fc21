"""`SlurmLauncher`: Hydra's submitit SLURM launcher (`hydra/launcher=slurm`), whose jobs requeue even
when SLURM signals them while Hydra is still setting them up.

submitit catches the signal SLURM sends before a job's time limit or when it preempts the job (USR2,
or `SUBMITIT_PREEMPT_SIGNAL`), checkpoints the job, requeues it and exits. The exit is an exception
raised wherever the job is: while Hydra reads the job's config files, Hydra's reader replaces it
with an `UnboundLocalError` and the job fails instead of coming back. This launcher holds the signal
back from the moment submitit hands the job over until the task starts, then lets it through.

Hydra finds launchers in its `hydra_plugins` namespace only, so this one lives here; without the
`sweep` extra it defines nothing (Hydra imports every plugin module when it starts).
"""

from __future__ import annotations

import functools
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as SubmititSlurmLauncher
except ImportError:  # no sweep extra: hydra/launcher=slurm is not available
    SubmititSlurmLauncher = None

PLUGINS: list[type] = []  # what toolkit.app.plugins registers with Hydra

_held: dict[int, Any] = {}  # signal number: the handler it had before it was held
_came: set[int] = set()  # the held signals that came meanwhile


def _note(number: int, frame: FrameType | None) -> None:
    _came.add(number)


def hold(number: int) -> None:
    """Note signal `number` instead of handling it, until `release_held()`.

    Example:
        >>> import os, signal
        >>> handled = []
        >>> before = signal.signal(signal.SIGUSR1, lambda number, frame: handled.append(number))
        >>> hold(signal.SIGUSR1)
        >>> os.kill(os.getpid(), signal.SIGUSR1)
        >>> handled
        []
        >>> release_held()
        >>> handled == [signal.SIGUSR1]
        True
        >>> _ = signal.signal(signal.SIGUSR1, before)
    """
    _held[number] = signal.signal(number, _note)


def release_held() -> None:
    """Put the handlers of the signals held back and raise each that came meanwhile, once."""
    while _held:
        number, handler = _held.popitem()
        signal.signal(number, handler)
        if number in _came:
            _came.discard(number)
            signal.raise_signal(number)


def released_first(task_function: Callable[[Any], Any], cfg: Any) -> Any:
    """Release the signals held back, then run the task: one that came during the set-up acts here."""
    release_held()
    return task_function(cfg)


if SubmititSlurmLauncher is not None:

    class SlurmLauncher(SubmititSlurmLauncher):
        """Hydra's submitit SLURM launcher; a job holds submitit's requeue signal back while Hydra sets it up."""

        def setup(self, *, task_function: Callable[[Any], Any], **kwargs: Any) -> None:
            super().setup(task_function=functools.partial(released_first, task_function), **kwargs)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            from toolkit._compat.submitit import preemption_signal  # on the node: Hydra imports this module at start

            hold(preemption_signal())  # until the task starts (released_first)
            return super().__call__(*args, **kwargs)

    PLUGINS.append(SlurmLauncher)
