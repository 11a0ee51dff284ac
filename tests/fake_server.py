"""A misbehaving OpenAI-compatible server on 127.0.0.1, for failure tests.

Each test gives it a behaviour: a function from the request body to a `Reply` (a chat completion, an
HTTP error, a delay longer than the client's timeout, a connection dropped without an answer). It is
bounded: it answers at most `max_requests` requests (later ones get a 503 and are counted), holds no
request longer than `max_delay` seconds, and shuts itself down after `lifetime` seconds even if a test
forgets to stop it. Use it through the `fake_server` fixture with `@pytest.mark.allow_hosts(["127.0.0.1"])`.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    """What the server does with one request."""

    status: int = 200
    body: Any = None  # a dict is sent as JSON, bytes as they are
    delay: float = 0.0  # seconds before answering (cut short when the server stops)
    drop: bool = False  # close the connection without answering
    headers: dict[str, str] = field(default_factory=dict)


Behaviour = Callable[[dict[str, Any]], Reply]


def chat(
    content: str | None,
    finish: str = "stop",
    *,
    refusal: str | None = None,
    prompt_tokens: int = 50,
    completion_tokens: int = 10,
    choices: bool = True,
) -> Reply:
    """A chat completion (`choices=False`: one with an empty choices list)."""
    choice = {
        "index": 0,
        "finish_reason": finish,
        "message": {"role": "assistant", "content": content, "refusal": refusal},
    }
    return Reply(
        body={
            "id": "fake",
            "object": "chat.completion",
            "created": 0,
            "model": "fake-model",
            "choices": [choice] if choices else [],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def error(status: int, message: str) -> Reply:
    """An OpenAI-style error response."""
    return Reply(status=status, body={"error": {"message": message, "type": "fake"}})


def schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request asks for (json_schema or json_object mode), if any."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema: dict[str, Any] = fmt["json_schema"]["schema"]
        return schema
    if fmt.get("type") == "json_object":
        return fmt.get("schema")
    return None


def minimal(schema: dict[str, Any]) -> Any:
    """The smallest value that fits a schema: what a model that finds nothing would answer."""
    if "enum" in schema:
        return schema["enum"][-1] if "not_found" not in schema["enum"] else "not_found"
    if "anyOf" in schema:
        return minimal(schema["anyOf"][0])
    kind = schema.get("type")
    if kind == "object":
        return {k: minimal(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 0
    if kind == "boolean":
        return True
    return "none" if "pattern" in schema else ""


def fits(body: dict[str, Any]) -> Reply:
    """A well-behaved model that finds nothing: the minimal answer for whatever schema is asked."""
    schema = schema_of(body)
    return chat(json.dumps(minimal(schema) if schema else {"ok": True}))


def is_preflight(body: dict[str, Any]) -> bool:
    """Whether a request is docagent's preflight check (its tiny fixed schema has only `ok`)."""
    schema = schema_of(body)
    if schema is not None:
        return set(schema.get("properties", {})) == {"ok"}
    return '"ok"' in json.dumps(body.get("messages", [])[:1])


class FakeServer:
    """The server; `url` is its base URL, `requests` the bodies it received, in order."""

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        max_requests: int = 60,
        max_delay: float = 10.0,
        lifetime: float = 45.0,
    ) -> None:
        self.behaviour = behaviour
        self.max_requests = max_requests
        self.max_delay = max_delay
        self.requests: list[dict[str, Any]] = []
        self.overflow = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def start(self) -> FakeServer:
        """Start serving (in a daemon thread)."""
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving and release every held request."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The requests other than preflight checks."""
        return [r for r in self.requests if not is_preflight(r)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                with server._lock:
                    if len(server.requests) >= server.max_requests:
                        server.overflow += 1
                        reply = error(503, "fake server: request limit reached")
                    else:
                        server.requests.append(body)
                        reply = server.behaviour(body)
                if reply.delay and server._stop.wait(min(reply.delay, server.max_delay)):
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                data = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else json.dumps(reply.body or {}).encode()
                )
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout or cancellation)

        return Handler


def dead_url() -> str:
    """A loopback URL where nothing listens (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    """Start fake servers for one test: `fake_server(behaviour, **limits)`; all stop at its end."""
    started: list[FakeServer] = []

    def start(behaviour: Behaviour = fits, **limits: Any) -> FakeServer:
        server = FakeServer(behaviour, **limits).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
