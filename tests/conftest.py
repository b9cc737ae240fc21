"""Shared fixtures: Hydra's compose API over the shipped config tree (`toolkit.conf`), the one way the
tests launch `train.py`, a real HTTP server on 127.0.0.1 (`server`, for downloads), and the hypothesis
profile."""

from __future__ import annotations

import functools
import gc
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

# Under pytest-xdist the workers share the cores: one torch (OpenMP) thread per worker and per
# process it starts, set before torch loads, so threads never wait on each other for a core.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hypothesis import settings

import toolkit.config  # noqa: F401 (registers the schemas)
from toolkit.config.bridge import build_model, initialize_model

ROOT = Path(__file__).resolve().parents[1]

# CI explores the same examples on every run; local runs explore new ones.
settings.register_profile("ci", derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first in each half of the list: pytest-xdist's worksteal hands two workers a half
    each and lets an idle one take the tail of the other's queue, so both start on slow tests and
    finish together on short ones."""
    slow = [item for item in items if item.get_closest_marker("slow")]
    fast = [item for item in items if not item.get_closest_marker("slow")]
    split = len(items) // 2 - len(slow[::2])
    items[:] = [*slow[::2], *fast[:split], *slow[1::2], *fast[split:]]


def pytest_sessionstart(session: pytest.Session) -> None:
    """What is imported by now (torch, hydra) lives as long as the session: out of the garbage
    collector's way, so that its full passes (pytest runs five at the end) scan only what comes later."""
    gc.collect()
    gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The same for what collection imported (Lightning, the test modules)."""
    pytest_sessionstart(session)


@pytest.fixture(scope="module")
def compose_config():
    """`compose_config(*overrides, **options)` -> the composed config (`options` of Hydra's `compose`, such as
    `return_hydra_config=True`); Hydra's global state is cleared after."""
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="toolkit.conf", version_base=None):
        yield lambda *overrides, **options: compose("config", overrides=list(overrides), **options)
    GlobalHydra.instance().clear()


@pytest.fixture(scope="module")
def option_config(compose_config):
    """`option_config(group, option, *overrides)`: the config with that option chosen, composed once per module."""
    return functools.cache(lambda group, option, *overrides: compose_config(f"{group}={option}", *overrides))


def swapped(base, choices: dict[str, str], option_config) -> SimpleNamespace:
    """What the bridge reads of `base` (model, conv, norm, act, init) with `choices` ({group: option})
    swapped in: the same as composing them together (no node refers to another), without a compose
    per combination."""
    nodes = {group: base[group] for group in ("model", "conv", "norm", "act", "init")}
    return SimpleNamespace(**nodes | {group: option_config(group, option)[group] for group, option in choices.items()})


def set_up(datamodule):
    """`datamodule` after its `setup("fit")`, which reads and splits the data (its constructor reads nothing)."""
    datamodule.setup("fit")
    return datamodule


def built(cfg, num_classes: int = 10, in_channels: int = 1):
    """The config's model for data of `num_classes` and `in_channels` (the digits'), initialized."""
    model = build_model(cfg, num_classes, in_channels)
    initialize_model(model, cfg)
    return model


@dataclass
class Finished:
    """What a `train.py` command left: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def in_this_process() -> Finished:
    """Run the entry point of `train.py` (`toolkit.app.main`) on `sys.argv`; Hydra's global state
    (a `compose_config` in use) and the logging are as they were after."""
    from toolkit.app import main

    stdout, stderr = io.StringIO(), io.StringIO()
    global_hydra, hydra_config, root = GlobalHydra.instance(), HydraConfig.instance(), logging.getLogger()
    composing, job, handlers, level = global_hydra.hydra, hydra_config.cfg, root.handlers[:], root.level
    global_hydra.clear()
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            main()
        returncode = 0
    except SystemExit as stop:
        returncode = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    finally:
        global_hydra.hydra, hydra_config.cfg = composing, job
        for handler in set(root.handlers) - set(handlers):
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    return Finished(returncode, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def launch(tmp_path, monkeypatch):
    """`launch(*arguments, fresh=False, cwd=tmp_path, pythonpath=None, environment=None)` runs
    `train.py ARGUMENTS` from the folder `cwd` and returns a `Finished`.

    By default in this process, through the entry point itself with `sys.argv` set: the command
    line, Hydra's error handling and the exit status are the user's, without a new interpreter
    (torch and Lightning take seconds to import). `fresh=True` starts `python train.py` in a new
    process, as a user does: the end-to-end tests. `pythonpath`: a folder of the user's own code;
    `environment`: variables to set.
    """

    def call(
        *arguments: str,
        fresh: bool = False,
        cwd: Path | None = None,
        pythonpath: Path | None = None,
        environment: dict[str, str] | None = None,
    ) -> Finished:
        cwd = cwd or tmp_path
        environment = {**(environment or {}), **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
        if fresh:
            command = [sys.executable, str(ROOT / "train.py"), *arguments]
            process = subprocess.run(
                command, capture_output=True, text=True, cwd=cwd, env={**os.environ, **environment}, timeout=600
            )
            return Finished(process.returncode, process.stdout, process.stderr)
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            patch.setattr(sys, "argv", [str(ROOT / "train.py"), *arguments])
            for name, value in environment.items():
                patch.setenv(name, value)
            if pythonpath:
                patch.syspath_prepend(str(pythonpath))
            return in_this_process()

    return call


@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt during the test, as in a terminal's foreground process: a
    shell starts its background jobs (`pytest &`, `nohup`) with SIGINT ignored, and Python keeps it so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def mount_tmpfs(tmp_path):
    """`mount_tmpfs(name, size='3m', read_only=False)`: a tmpfs of `size` mounted at tmp_path/name (a small or
    read-only file system, real to every process); unmounted after. Skips where mounting is not allowed
    (it needs root, as CI has)."""
    mounted: list[Path] = []

    def mount(name: str, size: str = "3m", read_only: bool = False) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        options = f"{'ro,' if read_only else ''}size={size}"
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=True)


class Routes:
    """What the server answers: path -> (body, behaviour); counts the requests per path.

    Behaviours: ok, slow (1 s before answering), cut (half the body, then the connection closes),
    cut-without-length (the same without Content-Length), trickle (a byte every 0.2 s).
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: Counter[str] = Counter()

    def add(self, path: str, body: bytes, behaviour: str = "ok") -> None:
        self.files[path] = (body, behaviour)


def make_handler(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.requests[self.path] += 1
            self.close_connection = True
            if self.path not in routes.files:
                self.send_error(404, "Not Found")
                return
            body, behaviour = routes.files[self.path]
            if behaviour == "slow":
                time.sleep(1)
            try:
                self.send_response(200)
                if behaviour != "cut-without-length":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if behaviour == "trickle":  # a byte every 0.2 s, for at most 60 s
                    for byte in body[:300]:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.2)
                    return
                self.wfile.write(body[: len(body) // 2] if behaviour.startswith("cut") else body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class Server:
    def __init__(self) -> None:
        self.routes = Routes()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.routes))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    running = Server()
    yield running
    running.close()
