"""The config tree ships inside the package: a wheel installed without -e works from any folder, and the
toolkit's Hydra plugins are found from any folder however it is installed."""

import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from ..conftest import ROOT


def environment_with_these_packages(environment: Path) -> Path:
    """A new virtual environment that sees this Python's packages (torch and the rest) behind its own,
    and its Python. `system_site_packages` alone would expose the base interpreter's packages, not
    those of the virtual environment this Python may run in; a .pth file names this one's."""
    venv.create(environment)
    python = environment / "bin" / "python"
    own = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(own) / "outer_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


@pytest.mark.slow
def test_the_wheel_works_from_an_empty_folder(tmp_path):
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("toolkit-*.whl"))
    environment = tmp_path / "venv"
    python = environment_with_these_packages(environment)
    # This Python's pip installs into the new environment (--python), so it needs no pip of its own.
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    install = [*pip, "install", "--no-deps", "--force-reinstall", "--no-index", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    empty = tmp_path / "empty"
    empty.mkdir()

    def in_empty(*command):
        return subprocess.run(command, capture_output=True, text=True, cwd=empty, timeout=300)

    where = in_empty(python, "-c", "import toolkit.conf; print(toolkit.conf.__file__)")
    assert where.stdout.startswith(str(environment)), where.stdout + where.stderr  # the wheel's copy, not the source
    job = in_empty(python, "-m", "toolkit", "--cfg", "job", "norm=gn")
    assert job.returncode == 0, job.stderr[-2000:]
    assert "norm:\n  type: GN\n  num_groups: 8" in job.stdout
    trained = in_empty(environment / "bin" / "toolkit-train", "trainer.max_epochs=1", "hydra.run.dir=run")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert trained.stdout.splitlines()[-1].startswith("val_acc=") and (empty / "run" / "metrics.json").is_file()


@pytest.mark.slow
def test_the_toolkit_plugins_are_found_from_an_empty_folder(tmp_path):
    """Hydra finds plugins in the `hydra_plugins` folders on sys.path; run from the repository, its own is
    there, from elsewhere an editable install (the README's) does not put it there: the toolkit's
    plugins are registered by name."""
    search = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=1", "trainer.max_epochs=1", "hydra.sweep.dir=s"]
    run = subprocess.run(
        [sys.executable, "-m", "toolkit", *search], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "s" / "optimization_results.yaml").is_file()
