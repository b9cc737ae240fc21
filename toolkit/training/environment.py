"""The record of where a run ran, for metrics.json and every logger: the versions, the machine, the
command line, the cluster job, and the git commit of the code it ran from.

Nothing here can fail a run: a fact that cannot be had (no git, no repository, no GPU, no SLURM) is
left empty (None).

>>> facts = environment(world_size=1)
>>> set(facts['versions']) == {'python', *PACKAGES} and facts['world_size'] == 1
True
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

PACKAGES = ("torch", "torchvision", "lightning", "hydra-core", "omegaconf", "toolkit")
SLURM_VARIABLES = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "node": "SLURMD_NODENAME",
}


def version(package: str) -> str | None:
    """The installed version of `package`, or None."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str | None:
    """The processor's model name (from /proc/cpuinfo on Linux), or what the platform says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def git(folder: Path, *arguments: str) -> str | None:
    """The output of `git ARGUMENTS` in `folder`, or None (no git, not a repository, too slow)."""
    try:
        done = subprocess.run(["git", *arguments], cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(folder: Path) -> dict[str, Any]:
    """The git commit of the repository `folder` is in, and whether its working tree has changes."""
    commit = git(folder, "rev-parse", "HEAD")
    status = git(folder, "status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}


def environment(world_size: int, folder: Path | None = None) -> dict[str, Any]:
    """Where this run runs: versions, machine, command line, SLURM job and the git state of `folder`
    (default: the working folder, where the user's own code usually is)."""
    gpus = [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    return {
        "versions": {"python": platform.python_version(), **{package: version(package) for package in PACKAGES}},
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        "cuda": torch.version.cuda if gpus else None,
        "host": socket.gethostname(),
        "command": " ".join(sys.argv),
        "world_size": world_size,
        "slurm": {name: os.environ.get(variable) for name, variable in SLURM_VARIABLES.items()},
        **code_version(folder or Path.cwd()),
    }
