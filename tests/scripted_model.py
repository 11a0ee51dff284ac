"""A scripted OpenAI-compatible model for tests: answers any structured request from its schema.

`fill` builds an answer that fits a request's JSON schema (every field answered, citing one line);
`ScriptedServer` serves such answers on 127.0.0.1 with a fixed usage per reply and a bounded number
of requests, for tests that run the `docagent` command end to end.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Content = Callable[[dict[str, Any]], str]


def fill(schema: dict[str, Any], value: str, evidence: str = "E1", lines: str = "1") -> Any:
    """An instance of `schema` where every string is `value` and every citation is evidence/lines."""
    kind = schema.get("type")
    if kind == "object":
        out: dict[str, Any] = {}
        for key, prop in schema.get("properties", {}).items():
            if key == "evidence":
                out[key] = evidence
            elif key == "lines":
                out[key] = lines
            elif key == "status":
                out[key] = "answered"
            else:
                out[key] = fill(prop, value, evidence, lines)
        return out
    if kind == "array":
        return [fill(schema.get("items", {}), value, evidence, lines)]
    if kind in ("number", "integer"):
        return 0.9
    if kind == "boolean":
        return True
    if "enum" in schema:
        return schema["enum"][0]
    return value


def request_schema(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema a chat-completions request asks for (json_object or json_schema mode)."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema: dict[str, Any] = fmt["json_schema"]["schema"]
        return schema
    return dict(fmt.get("schema") or {})


def evidence_lines(prompt: str) -> Iterator[tuple[str, int, str]]:
    """(evidence id, file line number, text) of every numbered evidence line in a prompt."""
    current = ""
    for line in prompt.split("\n"):
        header = re.match(r"\[(E\d+)\] ", line)
        if header:
            current = header.group(1)
            continue
        numbered = re.match(r"(\d+)\| (.*)", line)
        if current and numbered:
            yield current, int(numbered.group(1)), numbered.group(2)


def completion(content: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """A chat.completion body with the given usage."""
    return {
        "id": "scripted",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@contextmanager
def scripted_server(
    content: Content, *, max_requests: int, usage: tuple[int, int] = (1000, 200)
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(base URL, requests seen) of a server on 127.0.0.1 answering `content(request body)`.

    More than `max_requests` requests get HTTP 400 (not retried), so a runaway loop ends fast."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            if len(seen) > max_requests:
                self._send(400, {"error": {"message": "too many requests for this test"}})
                return
            self._send(200, completion(content(body), *usage))

        def _send(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
