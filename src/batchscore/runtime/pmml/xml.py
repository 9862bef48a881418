"""Hardened XML reading of PMML documents.

No DTD is loaded, no entity is resolved and nothing is fetched from the network; a document
that declares a DOCTYPE or entities is refused before it is parsed, so billion-laughs and
external-entity documents cost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from lxml import etree

from batchscore.errors import ModelError

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_UTF16_DOCTYPE = ("<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_document(data: bytes) -> etree._Element:
    """Parse PMML bytes into an element tree whose tags carry no namespace."""
    if not data or not data.strip():
        raise ModelError("Invalid XML format.", "The document is empty.")
    if _DOCTYPE.search(data) or any(marker in data for marker in _UTF16_DOCTYPE):
        raise ModelError("Invalid XML format.", "DOCTYPE and entity declarations are not allowed.")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise ModelError("Invalid XML format.") from exc
    except ValueError as exc:
        raise ModelError("Invalid XML format.") from exc
    if root is None:
        raise ModelError("Invalid XML format.")
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ModelError("Invalid XML format.", "DOCTYPE and entity declarations are not allowed.")
    for element in root.iter():
        if not isinstance(element.tag, str):
            # Entity references that survived (resolve_entities=False) are refused outright.
            raise ModelError("Invalid XML format.", "Entity references are not allowed.")
        if element.tag[0] == "{":
            element.tag = element.tag.rpartition("}")[2]
    if root.tag != "PMML":
        raise ModelError("Invalid XML format.", "The root element is not PMML.")
    return root


def children(element: etree._Element, tag: str) -> list[etree._Element]:
    """Direct children of ``element`` named ``tag``."""
    return [child for child in element if child.tag == tag]


def child(element: etree._Element, tag: str) -> etree._Element | None:
    """The first direct child of ``element`` named ``tag``, if any."""
    for candidate in element:
        if candidate.tag == tag:
            return candidate
    return None


def require_child(
    element: etree._Element,
    path: str | Collection[str],
    *,
    what: str | None = None,
    owner: str | None = None,
) -> etree._Element:
    """The first child of ``element`` at ``path``, or a ModelError naming what is missing.

    ``path`` is a tag, a ``/``-separated path of tags (``"BayesOutput/TargetValueCounts"``) or a
    collection of alternative tags (a predicate, ``Array`` or ``SparseArray``). The message is
    ``Invalid PMML: <owner> has no <what>.``; ``owner`` defaults to ``element``'s tag and
    ``what`` to ``path``.
    """
    found = _walk(element, path)
    if found:
        return found[0]
    raise _missing(element, path, what, owner)


def require_children(
    element: etree._Element,
    path: str,
    *,
    what: str | None = None,
    owner: str | None = None,
) -> list[etree._Element]:
    """The children of ``element`` at ``path`` (see :func:`require_child`); none is a
    ModelError ``Invalid PMML: <owner> has no <what>.``"""
    found = _walk(element, path, every=True)
    if found:
        return found
    raise _missing(element, path, what, owner)


def _walk(
    element: etree._Element, path: str | Collection[str], every: bool = False
) -> list[etree._Element]:
    if not isinstance(path, str):
        return [c for c in element if c.tag in path][: None if every else 1]
    *parents, last = path.split("/")
    node: etree._Element | None = element
    for tag in parents:
        node = child(node, tag) if node is not None else None
    if node is None:
        return []
    return children(node, last) if every else [c for c in [child(node, last)] if c is not None]


def _missing(
    element: etree._Element, path: str | Collection[str], what: str | None, owner: str | None
) -> ModelError:
    named = what if what is not None else path if isinstance(path, str) else "/".join(path)
    return ModelError(f"Invalid PMML: {owner or element.tag} has no {named}.")


def attr(element: etree._Element, name: str, default: str | None = None) -> str | None:
    """An attribute's text, or ``default``."""
    value = element.get(name)
    return default if value is None else value


def require_attr(element: etree._Element, name: str) -> str:
    """An attribute's text; a missing one is a ModelError naming element and attribute."""
    value = element.get(name)
    if value is None:
        raise ModelError(f"Invalid PMML: {element.tag} has no {name} attribute.")
    return value


def float_attr(element: etree._Element, name: str, default: float | None = None) -> float:
    """A numeric attribute as a float; missing with no default or unparseable is a ModelError."""
    value = element.get(name)
    if value is None:
        if default is None:
            raise ModelError(f"Invalid PMML: {element.tag} has no {name} attribute.")
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ModelError(f"Invalid PMML: {element.tag}@{name} is not a number: {value!r}.") from exc


def text_of(element: etree._Element) -> str:
    """The element's text content (empty if none)."""
    return element.text or ""
