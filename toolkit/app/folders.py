"""Run and sweep folders: a new folder for each run, an earlier run continued only on request, and a
run that fails its checks undone without touching anything that was there before it.

`FolderGuard` is a Hydra callback (in `conf/config.yaml`) that looks at the folder before Hydra
writes anything into it:

- a run folder (`hydra.run.dir`) that holds a run (`.hydra/`, `metrics.json`, `checkpoints/`) is
  continued with `resume=true` and refused otherwise; a folder of other files is refused when the
  run would write over one of them (`init_report.txt`, `logs/`, ...);
- a sweep folder (`hydra.sweep.dir`) that holds a sweep is likewise resumed or refused, and is
  locked while its sweep runs, so a second sweep started into it at the same time stops at once; in a
  resumed sweep each job goes to the folder of the earlier job with the same overrides
  (`job_folder`, the `hydra.sweep.subdir` resolver), new combinations to new folders;
- a disk with no room for a run's first files stops the run with one line saying so;
- the other ranks of a run with `trainer.strategy=ddp`, which Lightning starts by running the
  command line again into the same folder, join it unchecked.

What the folder held before the run is remembered, so `discard_run_folder` removes only what the
run itself created.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
from pathlib import Path
from typing import IO, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from ..config.root import same_run
from ..errors import ConfigError
from ..files import existing_parent, write_problem
from .job import saved_overrides

RUN_MARKERS = (".hydra", "metrics.json", "checkpoints")  # a folder with one of these holds a run
START_OUTPUTS = (".hydra", "init_report.txt", "logs")  # what a run writes before it trains, besides its log
RUN_OUTPUTS = (*RUN_MARKERS, *START_OUTPUTS, "history.json", "curves.png", "confusion.png", "lr_find.png")
SWEEP_MARKERS = ("multirun.yaml", "summary.csv", "optimization_results.yaml")
SWEEP_LOCK = ".sweep.lock"
NEXT_JOB_FOLDER = ".next_job_folder"  # in a resumed sweep: the first folder number free for new combinations
PROBE_BYTES = 64 * 1024  # a run's first files (its config, log and init report) take about this much

# Each run folder this process checked: what it held then (None: it did not exist), and its nearest
# folder that existed then (above which nothing may be removed).
checked: dict[Path, tuple[frozenset[str] | None, Path]] = {}
# The sweep folders this process holds the lock of, with the open lock file (kept out of the callback,
# which parallel launchers send to their workers).
locks: dict[Path, IO[Any]] = {}


def stop(message: str) -> None:
    """End the command with `Error: message` (an exception in a Hydra callback would only warn)."""
    print(f"Error: {message}", file=sys.stderr)
    raise SystemExit(1)


def entries(folder: Path) -> frozenset[str] | None:
    """The names in `folder`, or None when it does not exist."""
    return frozenset(os.listdir(folder)) if folder.is_dir() else None


def check_room(folder: Path, key: str) -> None:
    """Stop when the disk that will hold `folder` cannot take a run's first files."""
    probe_folder = existing_parent(folder)
    try:
        with open(probe_folder / f".toolkit-probe.{os.getpid()}", "wb") as probe:
            try:
                probe.write(b"\0" * PROBE_BYTES)
                probe.flush()
                os.fsync(probe.fileno())
            finally:
                os.remove(probe.name)
    except OSError as error:
        raise ConfigError(f"{key}={folder}: {write_problem(error, probe_folder)}") from None


def check_run_folder(folder: Path, resume: bool, job_log: str) -> None:
    """Stop unless `folder` can take a new run (or, with `resume`, holds the run to continue)."""
    held = entries(folder)
    key = f"hydra.run.dir={folder}"
    if resume and not (held and set(RUN_MARKERS) & held):
        raise ConfigError(f"resume=true: {key} holds no run to continue; name the folder of an earlier run")
    if resume:
        return
    if held and set(RUN_MARKERS) & held:
        found = ", ".join(sorted(set(RUN_MARKERS) & held))
        raise ConfigError(
            f"{key} already holds a run ({found}): continue it with resume=true, "
            "or give this run a folder of its own (another hydra.run.dir)"
        )
    clashes = sorted({*RUN_OUTPUTS, job_log} & (held or set()))
    if clashes:
        shown = ", ".join(name + "/" if (folder / name).is_dir() else name for name in clashes)
        raise ConfigError(f"{key} holds {shown} of its own, which this run writes: give it an empty or new folder")


def check_sweep_folder(folder: Path, resume: bool) -> None:
    """Stop unless `folder` can take a new sweep (or, with `resume`, holds the sweep to continue)."""
    held = entries(folder) or frozenset()
    jobs = sorted(name for name in held if name.isdigit())
    found = sorted(set(SWEEP_MARKERS) & held) + (["job folders " + ", ".join(jobs[:3])] if jobs else [])
    key = f"hydra.sweep.dir={folder}"
    if resume and not found:
        raise ConfigError(f"resume=true: {key} holds no sweep to continue; name the folder of an earlier sweep")
    if found and not resume:
        raise ConfigError(
            f"{key} already holds a sweep ({'; '.join(found)}): continue it with resume=true, "
            "or give this sweep a folder of its own (another hydra.sweep.dir)"
        )


def another_rank_of_the_run() -> bool:
    """Whether this process is a rank that Lightning's plain `ddp` started for a run (by running its command
    line again with `LOCAL_RANK` set), which joins the folder of the run's first rank instead of checking it."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0


def lock_sweep_folder(folder: Path) -> IO[Any]:
    """Hold `folder`'s sweep lock for as long as the returned file stays open (the process's life at most)."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / SWEEP_LOCK, "a")  # noqa: SIM115 (held open while the sweep runs)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise ConfigError(
            f"hydra.sweep.dir={folder}: another sweep is running in this folder; give this one another hydra.sweep.dir"
        ) from None
    return lock


class FolderGuard(Callback):
    """Checks the run or sweep folder before Hydra writes into it (see the module's docstring)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(config.hydra.run.dir).absolute()
        if another_rank_of_the_run():
            return
        try:
            check_run_folder(folder, bool(config.get("resume")), f"{config.hydra.job.name}.log")
            check_room(folder, "hydra.run.dir")
        except ConfigError as error:
            stop(str(error))
        checked[folder] = (entries(folder), existing_parent(folder))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(config.hydra.sweep.dir).absolute()
        if folder in locks:  # an earlier sweep of this process that stopped on a failed job
            locks.pop(folder).close()
        try:
            check_sweep_folder(folder, bool(config.get("resume")))
            check_room(folder, "hydra.sweep.dir")
            locks[folder] = lock_sweep_folder(folder)
        except ConfigError as error:
            stop(str(error))
        if config.get("resume"):
            numbers = job_folder_numbers(folder)
            (folder / NEXT_JOB_FOLDER).write_text(str(max(numbers, default=-1) + 1))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        lock = locks.pop(Path(config.hydra.sweep.dir).absolute(), None)
        if lock is not None:
            lock.close()


def job_folder_numbers(sweep_folder: Path) -> list[int]:
    """The numbers of the job folders in `sweep_folder`."""
    held = entries(sweep_folder) or frozenset()
    return sorted(int(name) for name in held if name.isdigit() and (sweep_folder / name).is_dir())


def job_folder(sweep_dir: str, number: int, resume: bool, overrides: Any) -> str:
    """The folder name of job `number` in a sweep (`hydra.sweep.subdir`): its number; in a resumed sweep,
    the folder of the earlier sweep that ran the same overrides (job numbers move when the sweep's lists
    change), or, for a new combination, a number after every earlier folder.

    >>> job_folder('/nowhere', 3, False, ['norm=gn'])
    '3'
    """
    if not resume:
        return str(number)
    folder = Path(sweep_dir)
    first_new = int((folder / NEXT_JOB_FOLDER).read_text())
    wanted = [str(override) for override in overrides]
    for earlier in (n for n in job_folder_numbers(folder) if n < first_new):
        if same_run(saved_overrides(folder / str(earlier)), wanted):
            return str(earlier)
    return str(first_new + number)


OmegaConf.register_new_resolver("toolkit_job_folder", job_folder, replace=True)


def discard_run_folder(folder: Path, job_name: str) -> None:
    """Undo a run that stopped before training: remove what it created in `folder` (its `.hydra/`, log,
    init report and logs), then the folders it created, while empty. Nothing that was there before the
    run is touched; a folder holding anything else the run wrote (say, checkpoints) is kept whole; a
    folder this process did not check (`FolderGuard`) is left alone."""
    folder = folder.absolute()
    if folder not in checked:
        return
    before, ancestor = checked.pop(folder)
    before = before or frozenset()
    created = (entries(folder) or frozenset()) - before
    ours = {*START_OUTPUTS, f"{job_name}.log"}
    if created - ours:
        return
    for name in created:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for path in [folder, *folder.parents]:
        if path == ancestor or not path.is_relative_to(ancestor) or any(path.iterdir()):
            break
        path.rmdir()
