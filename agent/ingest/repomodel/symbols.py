"""Definitions in a code file, read with tree-sitter: classes, functions, methods, types, traits,
with their exact lines, decorators/attributes, base classes and leading documentation.

Only the levels an architecture description speaks of are walked (module level, class and impl
bodies, Rust modules, exported declarations); function bodies are not. The grammars are the
prebuilt `tree-sitter-<language>` wheels, so nothing is compiled at install and nothing is fetched
at run time. A language without a grammar, or a file the parser cannot read, gives no symbols.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import tree_sitter as ts

from agent.ingest.repomodel.syntax import (
    Symbol,
    first_sentence,
    leading_comment,
    make_symbol,
    node_name,
    node_text,
)

# The grammar of each language docagent's walker knows (".tsx" files take the TSX grammar).
_GRAMMARS: dict[str, Callable[[], Any]] = {}


def _load_grammars() -> None:
    import tree_sitter_go
    import tree_sitter_java
    import tree_sitter_javascript
    import tree_sitter_python
    import tree_sitter_rust
    import tree_sitter_typescript

    _GRAMMARS.update(
        python=tree_sitter_python.language,
        js=tree_sitter_javascript.language,
        ts=tree_sitter_typescript.language_typescript,
        tsx=tree_sitter_typescript.language_tsx,
        go=tree_sitter_go.language,
        rust=tree_sitter_rust.language,
        java=tree_sitter_java.language,
    )


LANGUAGES = frozenset({"python", "js", "ts", "go", "rust", "java"})
GRAMMAR_PACKAGES = (
    "tree-sitter-python",
    "tree-sitter-javascript",
    "tree-sitter-typescript",
    "tree-sitter-go",
    "tree-sitter-rust",
    "tree-sitter-java",
)


@cache
def _parser(language: str) -> ts.Parser | None:
    if not _GRAMMARS:
        _load_grammars()
    grammar = _GRAMMARS.get(language)
    return ts.Parser(ts.Language(grammar())) if grammar else None


def grammar_for(path: str, language: str) -> str | None:
    """The grammar name for a file, or None when docagent has none for its language."""
    if language == "ts" and path.endswith(".tsx"):
        return "tsx"
    return language if language in LANGUAGES else None


def symbols(path: str, text: str, language: str) -> tuple[list[Symbol], bool]:
    """The file's definitions in source order, and whether the parser met syntax errors (it
    recovers: the definitions it could read are still returned). ([], False) for languages
    without a grammar."""
    grammar = grammar_for(path, language)
    parser = _parser(grammar) if grammar else None
    if parser is None or grammar is None:
        return [], False
    source = text.encode("utf-8", "surrogatepass")
    tree = parser.parse(source)
    walker = _WALKERS[grammar.replace("tsx", "ts")]
    return list(walker(tree.root_node, "")), tree.root_node.has_error


# --- helpers -------------------------------------------------------------------------------------


# --- Python --------------------------------------------------------------------------------------


def _py_doc(body: ts.Node | None) -> str:
    if body is None or not body.named_children:
        return ""
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_children:
        s = first.named_children[0]
        if s.type == "string":
            content = "".join(node_text(c) for c in s.named_children if c.type == "string_content")
            return first_sentence(content)
    return ""


# Blocks whose definitions are still module level (`if TYPE_CHECKING:`, `try: ... except
# ImportError:` fallbacks, `with` blocks).
_PY_BLOCKS = {
    "if_statement",
    "try_statement",
    "with_statement",
    "else_clause",
    "elif_clause",
    "except_clause",
    "finally_clause",
    "block",
}


def _python_children(body: ts.Node | None) -> Iterator[ts.Node]:
    for child in body.named_children if body is not None else []:
        if child.type in _PY_BLOCKS:
            yield from _python_children(child)
        else:
            yield child


def _walk_python(root: ts.Node, parent: str) -> Iterator[Symbol]:
    body = root if root.type == "module" else root.child_by_field_name("body")
    children = _python_children(body) if not parent else iter(body.named_children if body else [])
    for child in children:
        decorators: list[str] = []
        decorator_lines: list[int] = []
        node = child
        if child.type == "decorated_definition":
            found = [d for d in child.named_children if d.type == "decorator"]
            decorators = [node_text(d)[:200] for d in found]
            decorator_lines = [d.start_point.row + 1 for d in found]
            node = child.child_by_field_name("definition") or child
        if node.type not in ("class_definition", "function_definition"):
            continue
        name_node = node.child_by_field_name("name")
        if name_node is None:
            continue
        name = node_text(name_node)
        is_class = node.type == "class_definition"
        kind = "class" if is_class else ("method" if parent else "function")
        sym = make_symbol(
            child,
            name_node,
            kind,
            parent=parent,
            exported=not name.startswith("_") or (name.startswith("__") and name.endswith("__")),
            doc=_py_doc(node.child_by_field_name("body")),
            decorators=decorators,
            decorator_lines=decorator_lines,
            bases=node_text(node.child_by_field_name("superclasses"))[:200],
        )
        yield sym
        if is_class and not parent:
            yield from _walk_python(node, name)


# --- Go ------------------------------------------------------------------------------------------


def _walk_go(root: ts.Node, parent: str) -> Iterator[Symbol]:
    for child in root.named_children:
        if child.type == "function_declaration" or child.type == "method_declaration":
            name_node = child.child_by_field_name("name")
            if name_node is None:
                continue
            receiver = ""
            if child.type == "method_declaration":
                found = re.search(
                    r"\*?\s*([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*\)$",
                    node_text(child.child_by_field_name("receiver")),
                )
                receiver = found.group(1) if found else ""
            name = node_text(name_node)
            yield make_symbol(
                child,
                name_node,
                "method" if receiver else "function",
                parent=receiver,
                exported=name[:1].isupper(),
                doc=leading_comment(child),
            )
        elif child.type == "type_declaration":
            for spec in child.named_children:
                if spec.type not in ("type_spec", "type_alias"):
                    continue
                name_node = spec.child_by_field_name("name")
                if name_node is None:
                    continue
                shape = spec.child_by_field_name("type")
                kind = {"struct_type": "struct", "interface_type": "interface"}.get(
                    shape.type if shape is not None else "", "type"
                )
                name = node_text(name_node)
                yield make_symbol(
                    spec,
                    name_node,
                    kind,
                    exported=name[:1].isupper(),
                    # Inside `type ( ... )` each spec has its own comment; the group's is a fallback.
                    doc=leading_comment(spec) or leading_comment(child),
                )


# --- Rust ----------------------------------------------------------------------------------------

_RUST_KINDS = {
    "struct_item": "struct",
    "enum_item": "enum",
    "trait_item": "trait",
    "function_item": "function",
    "function_signature_item": "function",
    "type_item": "type",
    "mod_item": "module",
    "union_item": "struct",
}


def _rust_attributes(node: ts.Node) -> list[str]:
    out: list[str] = []
    prev = node.prev_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        if prev.type == "attribute_item":
            out.insert(0, node_text(prev)[:200])
        prev = prev.prev_sibling
    return out


def _walk_rust(root: ts.Node, parent: str) -> Iterator[Symbol]:
    for child in root.named_children:
        kind = _RUST_KINDS.get(child.type)
        if child.type == "impl_item":
            target = node_text(child.child_by_field_name("type"))
            body = child.child_by_field_name("body")
            if body is not None:
                yield from _walk_rust(body, re.sub(r"<.*", "", target))
            continue
        if kind is None:
            continue
        name_node = child.child_by_field_name("name")
        if name_node is None:
            continue
        public = any(c.type == "visibility_modifier" for c in child.children)
        variants: list[tuple[str, int]] = []
        if kind == "enum":
            body = child.child_by_field_name("body")
            for v in body.named_children if body is not None else []:
                if v.type == "enum_variant" and v.child_by_field_name("name") is not None:
                    variants.append((node_name(v), v.start_point.row + 1))
        yield make_symbol(
            child,
            name_node,
            "method" if parent and kind == "function" else kind,
            parent=parent,
            exported=public or bool(parent and root.parent and root.parent.type == "trait_item"),
            doc=leading_comment(child),
            decorators=_rust_attributes(child),
            variants=variants,
        )
        body = child.child_by_field_name("body")
        if kind == "module" and body is not None:
            yield from _walk_rust(body, "")
        elif kind == "trait" and body is not None:
            yield from _walk_rust(body, node_text(name_node))


# --- JavaScript / TypeScript ---------------------------------------------------------------------

_JS_KINDS = {
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "class": "class",
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "module": "module",
    "internal_module": "module",
}


def _walk_js(root: ts.Node, parent: str) -> Iterator[Symbol]:
    for child in root.named_children:
        node, exported = child, False
        decorators = [node_text(d)[:200] for d in child.named_children if d.type == "decorator"]
        if child.type == "export_statement":
            inner = child.child_by_field_name("declaration")
            if inner is None:
                continue
            node, exported = inner, True
            decorators += [
                node_text(d)[:200] for d in inner.named_children if d.type == "decorator"
            ]
        kind = _JS_KINDS.get(node.type)
        if node.type in ("lexical_declaration", "variable_declaration"):
            for decl in node.named_children:
                name_node = decl.child_by_field_name("name")
                value = decl.child_by_field_name("value")
                if decl.type != "variable_declarator" or name_node is None:
                    continue
                if name_node.type != "identifier":
                    continue
                shape = value.type if value is not None else ""
                vkind = "function" if "function" in shape else "constant"
                if vkind == "constant" and not exported:
                    continue
                yield make_symbol(
                    child, name_node, vkind, exported=exported, doc=leading_comment(child)
                )
            continue
        if kind is None:
            continue
        name_node = node.child_by_field_name("name")
        if name_node is None:
            continue
        bases = next((node_text(c) for c in node.named_children if c.type == "class_heritage"), "")
        yield make_symbol(
            child,
            name_node,
            kind,
            exported=exported,
            doc=leading_comment(child),
            decorators=decorators,
            bases=bases[:200],
        )
        body = node.child_by_field_name("body")
        if kind == "class" and body is not None:
            name = node_text(name_node)
            for member in body.named_children:
                if member.type not in ("method_definition", "abstract_method_signature"):
                    continue
                member_name = member.child_by_field_name("name")
                if member_name is None:
                    continue
                private = any(
                    c.type == "accessibility_modifier" and node_text(c) == "private"
                    for c in member.children
                ) or node_text(member_name).startswith("#")
                yield make_symbol(member, member_name, "method", parent=name, exported=not private)


# --- Java ----------------------------------------------------------------------------------------

_JAVA_KINDS = {
    "class_declaration": "class",
    "interface_declaration": "interface",
    "enum_declaration": "enum",
    "record_declaration": "class",
    "annotation_type_declaration": "interface",
}


def _walk_java(root: ts.Node, parent: str) -> Iterator[Symbol]:
    for child in root.named_children:
        kind = _JAVA_KINDS.get(child.type)
        if child.type == "method_declaration" and parent:
            kind = "method"
        if kind is None:
            continue
        name_node = child.child_by_field_name("name")
        if name_node is None:
            continue
        modifiers = next((c for c in child.named_children if c.type == "modifiers"), None)
        annotations = [
            node_text(a)[:200]
            for a in (modifiers.named_children if modifiers is not None else [])
            if "annotation" in a.type
        ]
        yield make_symbol(
            child,
            name_node,
            kind,
            parent=parent,
            exported="public" in node_text(modifiers).split(),
            doc=leading_comment(child),
            decorators=annotations,
            bases=" ".join(
                node_text(c)
                for c in child.named_children
                if c.type in ("superclass", "super_interfaces")
            )[:200],
        )
        body = child.child_by_field_name("body")
        if kind != "method" and body is not None:
            yield from _walk_java(body, node_text(name_node))


_WALKERS: dict[str, Callable[[ts.Node, str], Iterator[Symbol]]] = {
    "python": _walk_python,
    "go": _walk_go,
    "rust": _walk_rust,
    "js": _walk_js,
    "ts": _walk_js,
    "java": _walk_java,
}
