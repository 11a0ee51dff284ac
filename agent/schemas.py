"""Pydantic models for structured output, built from a template section.

The JSON schemas use only what both OpenAI strict mode and llama.cpp's grammar converter accept:
objects with every property required and `additionalProperties: false`, arrays, strings, numbers,
booleans, enums and `anyOf` for nullables; no numeric or length bounds, no patterns, no `$ref`
(inlined), no defaults. Ranges are enforced by validators, not by the schema.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agent.templates import FieldKind, Group, Section, TemplateField

# Turns a field's plain answer type into the type the model must return (e.g. an envelope with
# status, confidence and citations). Gets the field and the plain type; returns the new type.
Wrap = Callable[[TemplateField, Any], Any]

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


def _class_name(key: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in key.split("_") if part) + suffix


def describe(field: TemplateField) -> str:
    """What the model reads about a field: label, where it sits, what the template asks."""
    where = " > ".join(field.context)
    text = f"{field.label}: {field.description}"
    return f"{text} (under {where})" if where else text


def plain_type(field: TemplateField) -> Any:
    """The answer type of a field with nothing wrapped around it."""
    if field.kind is FieldKind.LIST:
        return list[str]
    if field.kind is FieldKind.TABLE:
        return list[table_row_model(field)]  # type: ignore[misc]
    return str


def table_row_model(field: TemplateField) -> type[BaseModel]:
    """One row of a table field: a string per column."""
    columns: dict[str, Any] = {}
    for key, column, example in zip(
        field.column_keys, field.columns, _first_row(field), strict=False
    ):
        hint = f" (template example: {example})" if example else ""
        columns[key] = (str, Field(description=f"{column}{hint}"))
    return create_model(  # type: ignore[call-overload, no-any-return]
        _class_name(field.key, "Row"), __config__=ConfigDict(extra="forbid"), **columns
    )


def _first_row(field: TemplateField) -> list[str]:
    return field.example_rows[0] if field.example_rows else [""] * len(field.columns)


def fields_model(
    name: str,
    fields: list[TemplateField],
    groups: list[Group],
    wrap: Wrap | None = None,
    sections: list[Section] | None = None,
) -> type[BaseModel]:
    """A model with one property per field key, group key and (nested) subsection key."""
    props: dict[str, Any] = {}
    for f in fields:
        base = plain_type(f)
        props[f.key] = (wrap(f, base) if wrap else base, Field(description=describe(f)))
    for g in groups:
        item = group_item_model(g, wrap)
        desc = (
            f"{g.label}: one item per {g.label.lower()} the evidence supports "
            f"(the template shows {g.template_items}; give 0 if none)."
        )
        props[g.key] = (list[item], Field(description=desc))  # type: ignore[valid-type]
    for sec in sections or []:
        sub = section_model(sec, wrap=wrap)
        props[sec.key] = (sub, Field(description=f"Section: {sec.title}"))
    return create_model(name, __config__=ConfigDict(extra="forbid"), **props)  # type: ignore[call-overload, no-any-return]


def group_item_model(group: Group, wrap: Wrap | None = None) -> type[BaseModel]:
    """One item of a repeatable group."""
    fields, groups = group.members()
    return fields_model(_class_name(group.key, "Item"), fields, groups, wrap)


def section_model(
    section: Section, *, wrap: Wrap | None = None, flatten: bool = False
) -> type[BaseModel]:
    """Structured-output model for a section: its fields, groups, and subsections nested by key.

    With `flatten`, subsections' fields are merged in (keys are then made unique by the caller).
    """
    if flatten:
        fields, groups = section.members()
        return fields_model(_class_name(section.key, "Section"), fields, groups, wrap)
    return fields_model(
        _class_name(section.key, "Section"), section.fields, section.groups, wrap, section.sections
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
