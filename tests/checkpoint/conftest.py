"""A real HTTP server on 127.0.0.1 for checkpoint downloads, and a fresh $TOOLKIT_HOME per test."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Routes:
    """What the server answers: path -> (body, behaviour); counts the requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: Counter[str] = Counter()

    def add(self, path: str, body: bytes, behaviour: str = "ok") -> None:
        self.files[path] = (body, behaviour)


def make_handler(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.requests[self.path] += 1
            if self.path not in routes.files:
                self.send_error(404, "Not Found")
                return
            body, behaviour = routes.files[self.path]
            if behaviour == "slow":
                time.sleep(1)
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if behaviour == "cut" else body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class Server:
    def __init__(self) -> None:
        self.routes = Routes()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.routes))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
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
