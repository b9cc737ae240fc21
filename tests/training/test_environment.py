"""The environment record of a run: versions, machine, command line, SLURM job and git state; never a failure."""

from __future__ import annotations

import importlib.metadata
import subprocess

from toolkit.training.environment import code_version, environment


def git(folder, *arguments):
    return subprocess.run(["git", *arguments], cwd=folder, check=True, capture_output=True, text=True).stdout.strip()


def test_the_git_state_of_the_users_repository(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "net.py").write_text("width = 8\n")
    git(tmp_path, "add", "net.py")
    git(tmp_path, "-c", "user.name=u", "-c", "user.email=u@example.org", "commit", "-qm", "net")
    assert code_version(tmp_path) == {"git_commit": git(tmp_path, "rev-parse", "HEAD"), "git_dirty": False}
    (tmp_path / "net.py").write_text("width = 16\n")  # an uncommitted change to the code
    assert code_version(tmp_path)["git_dirty"] is True
    assert code_version(tmp_path.parent) == {"git_commit": None, "git_dirty": None}  # not in a repository
    assert code_version(tmp_path / "nowhere") == {"git_commit": None, "git_dirty": None}


def test_the_record_names_versions_the_cluster_job_and_the_world_size(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    facts = environment(world_size=4, folder=tmp_path)
    assert facts["versions"]["torch"] == importlib.metadata.version("torch")
    assert facts["versions"]["toolkit"] == importlib.metadata.version("toolkit")
    assert facts["world_size"] == 4 and facts["slurm"]["job_id"] == "4242" and facts["slurm"]["array_task_id"] == "3"
    assert facts["git_commit"] is None and facts["cpu_count"] >= 1 and facts["host"]
    assert facts["gpus"] == [] or facts["cuda"]
