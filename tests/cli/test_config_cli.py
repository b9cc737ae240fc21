"""`--help` and `--cfg job` answer without paying for torch or Lightning; bad options stop before training."""

import re
import subprocess
import sys

import pytest

from ..conftest import ROOT


def imported_modules(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_cfg_job_prints_the_composed_config_without_torch_or_lightning(launch):
    # a fresh interpreter that lists what it imports
    result = launch("--cfg", "job", "norm=gn", "init=xavier", fresh=True, environment={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "norm:\n  type: GN\n  num_groups: 8" in result.stdout
    assert "init:\n  type: Xavier" in result.stdout
    top_level = {name.split(".")[0] for name in imported_modules(result.stderr)}
    assert "hydra" in top_level
    assert not {"torch", "lightning", "pytorch_lightning", "torchmetrics"} & top_level


LEAKY_02 = """\
# LeakyReLU with slope 0.2: a new option of an existing type, one file.
defaults:
  - /schema/act/LeakyReLUConfig@_here_
  - _self_

negative_slope: 0.2
"""


@pytest.mark.slow
def test_a_new_option_is_one_yaml_file_and_help_lists_it_with_every_other(compose_config, launch, tmp_path):
    (tmp_path / "act").mkdir()
    (tmp_path / "act" / "leakyrelu02.yaml").write_text(LEAKY_02)
    # hydra.searchpath on the command line replaces the list in conf/config.yaml: keep its entry
    cfg = compose_config("act=leakyrelu02", f"hydra.searchpath=[pkg://toolkit.conf.layers,file://{tmp_path}]")
    assert cfg.act.type == "LeakyReLU" and cfg.act.negative_slope == 0.2
    shown = launch("--config-dir", str(tmp_path), "--help", "act=leakyrelu02")
    assert shown.returncode == 0, shown.stderr[-2000:]
    choices, config = shown.stdout.split("== Config ==")
    listed = dict(re.findall(r"^(\w+): (.+)$", choices, flags=re.M))
    conf = ROOT / "conf"
    folders = [*(conf / "layers").iterdir(), *conf.iterdir()]
    on_disk = {
        folder.name: sorted(path.stem for path in folder.glob("*.yaml"))
        for folder in folders
        if folder.is_dir() and folder.name not in ("hydra", "layers") and list(folder.glob("*.yaml"))
    }
    assert set(on_disk) >= {"model", "data", "callbacks", "logger", "paths", "experiment", "debug", "hparams_search"}
    on_disk["act"] = sorted([*on_disk["act"], "leakyrelu02"])
    assert {group: options.split(", ") for group, options in listed.items()} == on_disk
    assert "act:\n  type: LeakyReLU\n  negative_slope: 0.2" in config


def test_errors_that_are_bugs_keep_their_traceback(compose_config, monkeypatch):
    import toolkit.training
    from toolkit.app import task

    monkeypatch.setattr(toolkit.training, "run", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        task(compose_config())


def test_unknown_option_and_misspelt_key_fail_before_training(launch):
    unknown = launch("norm=nosuchnorm")
    assert unknown.returncode == 1
    assert "Could not find 'norm/nosuchnorm'" in unknown.stderr and "Available options in 'norm'" in unknown.stderr
    misspelt = launch("norm=gn", "norm.num_grups=8")
    assert misspelt.returncode == 1 and "Key 'num_grups' not in 'GroupNormConfig'" in misspelt.stderr
    wrong_type = launch("trainer.max_epochs=many")
    assert wrong_type.returncode == 1 and "trainer.max_epochs=many" in wrong_type.stderr
    paramwise = launch("optim.paramwise_cfg.norm_decay=0")
    expected = "Error: optim.paramwise_cfg.norm_decay: no such key (did you mean 'norm_decay_mult'?); the keys are"
    assert paramwise.returncode == 1 and paramwise.stderr.startswith(f"{expected} bias_lr_mult, bias_decay_mult,")


def test_console_script_works_from_any_folder(tmp_path):
    from pathlib import Path

    script = Path(sys.executable).parent / "toolkit-train"  # where pip puts the console script
    assert script.is_file(), "pip install -e . installs the toolkit-train console script"
    result = subprocess.run(
        [script, "--cfg", "job", "norm=ln"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "norm:\n  type: LN2d" in result.stdout


def test_a_run_folder_is_discarded_only_when_the_run_never_started(tmp_path):
    from omegaconf import OmegaConf

    from toolkit.app.folders import FolderGuard, discard_run_folder

    never = tmp_path / "outputs" / "day" / "never"
    stopped = tmp_path / "outputs" / "day" / "stopped"
    unchecked = tmp_path / "unchecked"
    for folder in (never, stopped):
        FolderGuard().on_run_start(OmegaConf.create({"hydra": {"run": {"dir": str(folder)}, "job": {"name": "train"}}}))
    for folder in (never, stopped, unchecked):
        (folder / ".hydra").mkdir(parents=True)
        (folder / "train.log").write_text("")
    (stopped / "checkpoints").mkdir()  # it trained before the error
    for folder in (never, stopped, unchecked):
        discard_run_folder(folder, "train")
    assert not never.exists()
    assert sorted(path.name for path in stopped.iterdir()) == [".hydra", "checkpoints", "train.log"]
    assert sorted(path.name for path in unchecked.iterdir()) == [".hydra", "train.log"]  # not known to be the run's


@pytest.mark.parametrize("form", [["--config-dir", "{}"], ["--config-dir={}"], ["-cd", "{}"]])
def test_a_config_dir_that_does_not_exist_is_one_line(launch, tmp_path, form):
    missing = tmp_path / "nowhere"
    shown = launch(*[part.format(missing) for part in form], "trainer.max_epochs=1")
    assert shown.returncode == 1
    assert (
        shown.stderr
        == f"Error: --config-dir {missing}: no such folder (it holds your own configs, e.g. model/mynet.yaml)\n"
    )
    assert not (tmp_path / "outputs").exists()
