"""What structured output may use: JSON schemas both OpenAI strict mode and llama.cpp's grammar
converter accept, and the check that a schema stays within them (the answer models and the field
descriptions the model reads are built in agent.draft.answers).

The JSON schemas use only what both OpenAI strict mode and llama.cpp's grammar converter accept:
objects with every property required and `additionalProperties: false`, arrays, strings, numbers,
booleans, enums and `anyOf` for nullables; no numeric or length bounds, no patterns, no `$ref`
(inlined), no defaults. Ranges are enforced by validators, not by the schema.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

FORBIDDEN_SCHEMA_KEYS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minItems",
        "maxItems",
        "uniqueItems",
        "patternProperties",
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "default",
        "$ref",
        "$defs",
    }
)


# Bounds that only grammar-constrained backends get (llama.cpp compiles them into the grammar, so a
# small model cannot loop inside a string or a list); OpenAI strict mode rejects some of them.
GRAMMAR_BOUNDS = frozenset({"maxLength", "maxItems", "pattern"})


def strip_bounds(node: Any, *, in_properties: bool = False) -> Any:
    """A schema without the grammar-only bounds (property names are never touched)."""
    if isinstance(node, dict):
        return {
            k: strip_bounds(v, in_properties=k == "properties" and not in_properties)
            for k, v in node.items()
            if in_properties or k not in GRAMMAR_BOUNDS
        }
    if isinstance(node, list):
        return [strip_bounds(v) for v in node]
    return node


def strict_json_schema(model: type[BaseModel], *, bounds: bool = False) -> dict[str, Any]:
    """The model's JSON schema with `$ref`s inlined and every object closed and fully required.

    With `bounds`, string lengths, list sizes and patterns declared for grammars are kept."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = copy.deepcopy(defs[node["$ref"].split("/")[-1]])
                extra = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**target, **extra})
            out = {k: resolve(v) for k, v in node.items() if k not in ("default", "title")}
            if out.get("type") == "object" and "properties" in out:
                out["additionalProperties"] = False
                out["required"] = list(out["properties"])
            return out
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved if bounds else strip_bounds(resolved)


def schema_violations(schema: Any, path: str = "$") -> list[str]:
    """Keywords in a schema that OpenAI strict mode or llama.cpp would reject or ignore."""
    found: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in FORBIDDEN_SCHEMA_KEYS and not (path.endswith("properties")):
                found.append(f"{path}.{key}")
            found += schema_violations(value, f"{path}.{key}")
        if schema.get("type") == "object" and "properties" in schema:
            if schema.get("additionalProperties") is not False:
                found.append(f"{path}: additionalProperties is not false")
            if set(schema.get("required", [])) != set(schema["properties"]):
                found.append(f"{path}: not every property is required")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += schema_violations(value, f"{path}[{i}]")
    return found
