"""TextIndex: how often a term occurs in a text field (PMML 4.4 Transformations), as JPMML.

The text is normalized by each TextIndexNormalization in turn (its InlineTable's rows replace
``inField`` by ``outField``, as a regular expression where ``regexField`` is true, else
literally; ``recursive`` repeats until nothing changes), then text and term are split into
tokens by ``wordSeparatorCharacterRE`` (or found by ``wordRE``), each token trimmed of leading
and trailing punctuation. The term's tokens are counted where they occur in a row in the text's
tokens (case-insensitively unless ``isCaseSensitive``; with ``maxLevenshteinDistance`` edits
over the whole term allowed; ``bestHits`` counts only the matches of least distance). The
result is the count (``termFrequency``), the count capped at 1 (``binary``) or
``log10(1 + count)`` (``logarithmic``). A text a pattern runs out of time on fails its row.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml import regexes
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import Column, cast_column, missing_mask
from batchscore.runtime.pmml.regexes import Pattern, PatternTimeout, TimeoutBudget
from batchscore.runtime.pmml.transforms import column_key, inline_table
from batchscore.runtime.pmml.xml import attr, children, require_attr

WEIGHTS = frozenset({"termFrequency", "binary", "logarithmic"})
MAX_NORMALIZATION_ROUNDS = 100
"""A recursive normalization that still changes the text after this many rounds fails it."""

CompileExpression = Callable[[etree._Element], Expr]


@dataclass(frozen=True)
class Replacement:
    pattern: Pattern
    replacement: str


@dataclass(frozen=True)
class Normalization:
    replacements: tuple[Replacement, ...]
    recursive: bool

    def apply(self, text: str) -> str:
        for _ in range(MAX_NORMALIZATION_ROUNDS):
            changed = text
            for row in self.replacements:
                changed = regexes.substitute(row.pattern, row.replacement, changed)
            if not self.recursive or changed == text:
                return changed
            text = changed
        raise PatternTimeout


@dataclass(frozen=True)
class TextIndexSpec:
    normalizations: tuple[Normalization, ...]
    splitter: Pattern | None
    word: Pattern | None
    case_sensitive: bool
    max_distance: int
    best_hits: bool
    weights: str

    def tokens(self, text: str) -> list[str]:
        if self.word is not None:
            pieces = [text[a:b] for a, b in regexes.split(self.word, text)]
        else:
            assert self.splitter is not None
            pieces, start = [], 0
            for a, b in regexes.split(self.splitter, text):
                pieces.append(text[start:a])
                start = b
            pieces.append(text[start:])
        trimmed = (_trim_punctuation(p) for p in pieces)
        return [t for t in trimmed if t]

    def text_tokens(self, text: str) -> list[str]:
        for normalization in self.normalizations:
            text = normalization.apply(text)
        return self.tokens(text)

    def frequency(self, text: list[str], term: list[str]) -> float:
        count = _term_frequency(
            text, term, self.case_sensitive, self.max_distance, self.best_hits, self.weights
        )
        if self.weights == "logarithmic":
            return math.log10(1.0 + count)
        return float(count)


def _trim_punctuation(token: str) -> str:
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(token[end - 1]).startswith("P"):
        end -= 1
    return token[start:end]


def _term_frequency(
    text: list[str],
    term: list[str],
    case_sensitive: bool,
    max_distance: int,
    best_hits: bool,
    weights: str,
) -> int:
    if not text or not term:
        return 0
    cap = 1 if weights == "binary" else math.inf
    if not case_sensitive:
        text = [t.casefold() for t in text]
        term = [t.casefold() for t in term]
    frequency, best = 0, math.inf
    for i in range(len(text) - len(term) + 1):
        distance = 0
        for j, wanted in enumerate(term):
            budget = max_distance - distance
            step = _distance(text[i + j], wanted, budget)
            if step < 0:
                break
            distance += step
        else:
            if best_hits:
                if distance < best:
                    frequency, best = 1, distance
                elif distance == best:
                    frequency += 1
                else:
                    continue
                if best == 0 and frequency >= cap:
                    return frequency
            else:
                frequency += 1
                if frequency >= cap:
                    return frequency
    return int(min(cap, frequency))


def _distance(left: str, right: str, budget: int) -> int:
    """The Levenshtein distance of two tokens if at most ``budget``, else -1."""
    if budget == 0:
        return 0 if left == right else -1
    if abs(len(left) - len(right)) > budget:
        return -1
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, start=1):
        current = [i]
        for j, b in enumerate(right, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        if min(current) > budget:
            return -1
        previous = current
    return previous[-1] if previous[-1] <= budget else -1


def _normalization(element: etree._Element, index: etree._Element) -> Normalization:
    in_field = column_key(attr(element, "inField", "string") or "string")
    out_field = column_key(attr(element, "outField", "stem") or "stem")
    regex_field = column_key(attr(element, "regexField", "regex") or "regex")
    sensitive = (attr(element, "isCaseSensitive") or attr(index, "isCaseSensitive")) == "true"
    replacements = []
    for row in inline_table(element):
        if in_field not in row or out_field not in row:
            raise ModelError(
                f"Invalid PMML: a TextIndexNormalization row has no {in_field} or {out_field}."
            )
        if row.get(regex_field, "").lower() == "true":
            pattern = regexes.compile_pattern(row[in_field], ignore_case=not sensitive)
        else:
            pattern = regexes.literal(row[in_field], ignore_case=not sensitive)
        replacements.append(Replacement(pattern, regexes.java_replacement(row[out_field])))
    return Normalization(tuple(replacements), attr(element, "recursive") == "true")


def compile_text_index(
    element: etree._Element, scope: Scope, compile_term: CompileExpression
) -> Expr:
    """The TextIndex ``element``; ``compile_term`` compiles its term expression."""
    text_expr = scope.resolve(require_attr(element, "textField"))
    weights = attr(element, "localTermWeights", "termFrequency") or "termFrequency"
    if weights not in WEIGHTS:
        raise ModelError(
            f"Unsupported PMML feature: TextIndex@localTermWeights={weights} "
            "(JPMML-Evaluator does not define it either)."
        )
    if attr(element, "tokenize", "true") != "true":
        raise ModelError("Unsupported PMML feature: TextIndex@tokenize=false.")
    count_hits = attr(element, "countHits", "allHits")
    if count_hits not in ("allHits", "bestHits"):
        raise ModelError(f"Invalid PMML: TextIndex@countHits={count_hits}.")
    distance_text = attr(element, "maxLevenshteinDistance", "0") or "0"
    try:
        max_distance = int(distance_text)
    except ValueError:
        max_distance = -1
    if max_distance < 0:
        raise ModelError(f"Invalid PMML: TextIndex@maxLevenshteinDistance={distance_text}.")
    word = attr(element, "wordRE")
    separator = attr(element, "wordSeparatorCharacterRE", r"\s+") or r"\s+"
    term_element = next((c for c in element if c.tag != "TextIndexNormalization"), None)
    if term_element is None:
        raise ModelError("Invalid PMML: TextIndex has no expression.")
    spec = TextIndexSpec(
        tuple(_normalization(n, element) for n in children(element, "TextIndexNormalization")),
        None if word is not None else regexes.compile_pattern(separator),
        regexes.compile_pattern(word) if word is not None else None,
        attr(element, "isCaseSensitive") == "true",
        max_distance,
        count_hits == "bestHits",
        weights,
    )
    term = compile_term(term_element)
    text_fn, term_fn = text_expr.fn, term.fn
    data_type = "double" if weights == "logarithmic" else "integer"

    def evaluate(ctx: Context) -> Column:
        texts = cast_column("string", text_fn(ctx))
        terms = cast_column("string", term_fn(ctx))
        out = np.full(ctx.n, np.nan)
        present = np.flatnonzero(~missing_mask(texts) & ~missing_mask(terms))
        failed = np.zeros(ctx.n, dtype=bool)
        tokens: dict[str, list[str] | None] = {}
        term_tokens: dict[str, list[str] | None] = {}
        budget = TimeoutBudget()
        for i in present:
            text, wanted = str(texts[i]), str(terms[i])
            if text not in tokens:
                tokens[text] = _or_none(spec.text_tokens, text, budget)
            if wanted not in term_tokens:
                term_tokens[wanted] = _or_none(spec.tokens, wanted, budget)
            split_text, split_term = tokens[text], term_tokens[wanted]
            if split_text is None or split_term is None:
                failed[i] = True
                continue
            out[i] = spec.frequency(split_text, split_term)
        if failed.any():
            ctx.refuse(failed)
        return out

    return Expr(evaluate, data_type, "continuous")


def _or_none(
    split: Callable[[str], list[str]], text: str, budget: TimeoutBudget
) -> list[str] | None:
    try:
        budget.check()
        return split(text)
    except PatternTimeout:
        budget.spent()
        return None
