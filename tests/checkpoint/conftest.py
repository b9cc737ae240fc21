"""A real HTTP server on 127.0.0.1 for checkpoint downloads, and a fresh $TOOLKIT_HOME per test."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


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


@pytest.fixture(autouse=True)
def toolkit_home(tmp_path, monkeypatch):
    home = tmp_path / "toolkit-home"
    monkeypatch.setenv("TOOLKIT_HOME", str(home))
    return home
