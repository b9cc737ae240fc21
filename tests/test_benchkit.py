"""scripts/benchkit.py: the paired timer, the JSON results, a missed target fails the script, and the
docs tables come from the JSON."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_paired_medians_time_each_step(monkeypatch):
    benchkit = load("benchkit")
    calls = []
    medians = benchkit.paired_medians({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=4)
    assert set(medians) == {"a", "b"} and all(value >= 0 for value in medians.values())
    assert calls[2:4] == ["a", "b"] and calls[4:6] == ["b", "a"]  # after the warm-up, rounds alternate


def test_results_go_to_json_and_a_missed_target_exits_1(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)  # keep this process's threads
    benchkit = load("benchkit")
    bench = benchkit.Bench("demo", "demo", argv=["--threads", "1", "--json", str(tmp_path / "demo.json")])
    bench.parse()
    bench.record("ours / plain", 0.98, 1.02, ms=3.5)
    bench.record("speed-up", 1.1, 1.3, unit="x", higher_is_better=True)
    with pytest.raises(SystemExit) as stopped:
        bench.finish()
    assert stopped.value.code == 1 and "missed 1 target(s): speed-up" in capsys.readouterr().err
    results = json.loads((tmp_path / "demo.json").read_text())
    assert [(r["name"], r["met"]) for r in results["results"]] == [("ours / plain", True), ("speed-up", False)]
    assert results["threads"] == 1 and results["results"][0]["details"] == {"ms": 3.5}


def test_bench_tables_are_filled_from_the_json(tmp_path, monkeypatch):
    tables = load("bench_tables")
    (tmp_path / "demo.json").write_text(
        json.dumps(
            {
                "bench": "demo",
                "torch": "2.13.0",
                "python": "3.11.7",
                "machine": "x86_64",
                "threads": 2,
                "repeats": 9,
                "results": [
                    {
                        "name": "ours / plain",
                        "value": 0.987,
                        "unit": "ratio",
                        "target": 1.02,
                        "higher_is_better": False,
                        "details": {},
                        "met": True,
                    }
                ],
            }
        )
    )
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    filled = tables.render("intro\n<!-- bench:demo -->\nold table\n<!-- /bench:demo -->\nafter\n")
    assert "| ours / plain | 0.987 | <= 1.02 | yes |" in filled and "old table" not in filled
    assert filled.startswith("intro\n<!-- bench:demo -->\n| measure |") and filled.endswith(
        "<!-- /bench:demo -->\nafter\n"
    )
