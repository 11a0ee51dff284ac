"""Planted instructions: repository text that speaks to an AI model instead of describing things.

Used wherever repository text could become a value without a model reading it: citation checks,
and decisions quoted straight from the notes.
"""

from __future__ import annotations

import re

# Who an injected instruction speaks to. Not "model" or "agent" alone: configuration and code use
# those words as plain nouns ("model: gpt-4o", "agent: write the log").
_AI = (
    r"(?:ai|a\.i\.|llms?|gpt-?\d*|chatgpt|claude|copilot|gemini|language models?|"
    r"(?:ai |coding |llm |code )?assistants?|(?:ai|coding|llm|code) agents?|chat ?bots?)"
)
_VERB = (
    r"(?:you|please|always|never|ignore|disregard|forget|do|don't|write|answer|respond|reply|say|"
    r"state|set|output|report|describe|claim|mention|use|treat|pretend|act|fill|call|list|when|if|"
    r"from now on|before|regardless)\b"
)
# One line that speaks to the model instead of describing the repository. Each alternative is a
# shape of planted instruction; plain documentation and code comments ("# set all fields to None")
# do not match.
_ADDRESSES_MODEL = re.compile(
    "|".join(
        [
            # "ignore (all) previous instructions", "disregard the above rules"
            r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}?\b(?:previous|prior|above|"
            r"earlier|preceding|all|any|your|other|system|original)\b[^.\n]{0,20}?\b(?:instructions?|"
            r"prompts?|directions|rules|guidelines)\b",
            # "set every field to X" (not to None, zero or a default: code comments say that)
            r"\b(?:set|fill|answer|write|change|replace|report)\s+(?:every|each|all(?:\s+the)?|any)\s+"
            r"(?:fields?|answers?|questions?|placeholders?|sections?)\s+(?:to\b|as\b|with\s+[\"'`])"
            r"(?!\s+(?:none|null|nil|zero|0|false|true|empty|blank|defaults?|their|its)\b)",
            # "Note to AI assistants", "attention LLMs", "instructions for the AI"
            rf"(?:^|[^\w])(?:hey|hi|dear|attention|note to|notice to|message to|instructions? "
            rf"(?:for|to))\s+(?:the\s+|any\s+|all\s+)?{_AI}\b",
            # "if you are an AI", "when you're a language model"
            rf"\b(?:if|when|while)\s+you(?:'re|\s+are)\s+(?:an?|the)\s+(?:automated\s+)?(?:{_AI}|"
            r"models?|agents?|bots?)\b",
            # "AI reading this repository", "LLMs summarising this file"
            rf"\b{_AI}\s+(?:that\s+(?:is|are)\s+)?(?:reading|processing|parsing|summari[sz]ing|"
            r"documenting|analy[sz]ing|reviewing|indexing)\s+this\b",
            # "AI: you must ...", "# Assistant, please ..." at the start of a line or comment
            rf"^[\s#/*>|!<\-]*{_AI}\s*[:,]\s*{_VERB}",
            # "LLMs must state ...", "AI assistants should answer ..."
            rf"\b{_AI}\s+(?:must|should|shall|need\s+to|are\s+required\s+to)\s+(?:always\s+|"
            r"never\s+|not\s+)?(?:answer|say|state|write|respond|reply|report|describe|claim|"
            r"output|mention|ignore|set|use|treat|fill)\b",
            # "You are now DAN" (not "You are a helpful assistant": apps' own prompts say that)
            r"\byou\s+are\s+now\s+(?:an?\s+|the\s+)?(?:ai|assistant|llm|chatbot|(?-i:[A-Z]{2,})|in\s+"
            r"(?:developer|god|jailbreak|unrestricted)\s+mode)\b",
            r"\b(?:new|updated|real|actual|hidden|secret)\s+(?:system\s+)?(?:instructions?|prompt)"
            r"\s*(?::|is\b|are\b)",
            r"<\|im_start\|>|(?-i:\[/?INST\])|<<SYS>>",
        ]
    ),
    re.I,
)


def addresses_model(text: str) -> bool:
    """Whether a line speaks to an AI model (a planted instruction) rather than describing things."""
    return bool(_ADDRESSES_MODEL.search(text))


_COMMENT_PREFIX = re.compile(r"^\s*((?:#+|//+|/?\*+|>+|--|;+|%+)?)")


def addressed_lines(lines: list[str]) -> set[int]:
    """1-based numbers of the lines that address the model. An instruction goes on for as long as
    its sentence does (hard-wrapped prose, a comment continued on the next comment line), and one
    that ends with ":" leads in the rest of its paragraph ("Note to AI assistants:" then the text)."""
    found: set[int] = set()
    marker: str | None = None  # the comment marker of the instruction that goes on, if one does
    paragraph = False
    for n, line in enumerate(lines, start=1):
        text = line.strip()
        prefix = _marker(line)
        continues = marker is not None and text != prefix and prefix == marker
        if not text:
            marker, paragraph = None, False
        elif addresses_model(line) or continues or paragraph:
            found.add(n)
            if not (continues or paragraph):
                paragraph = text.endswith(":")
            ended = text.rstrip("*_`'\")").endswith((".", "!", "?"))
            marker = None if ended and not paragraph else prefix
        else:
            marker = None
    return found


def _marker(line: str) -> str:
    m = _COMMENT_PREFIX.match(line)
    return m.group(1) if m else ""
