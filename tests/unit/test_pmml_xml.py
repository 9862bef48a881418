"""The hardened PMML reader: no DTDs, no entities, no network, clear ModelErrors."""

from __future__ import annotations

import time

import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml import PmmlEngine

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PMML version="4.4"><Header>&lol9;</Header></PMML>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE PMML [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<PMML version="4.4"><Header description="&x;"/></PMML>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE PMML SYSTEM "http://example.invalid/pmml.dtd">
<PMML version="4.4"/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE PMML [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]>
<PMML version="4.4"/>"""

UTF16_DOCTYPE = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE PMML []><PMML/>'.encode("utf-16")


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY, UTF16_DOCTYPE],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity", "utf16-doctype"],
)
def test_dtd_and_entities_are_refused_quickly(document: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(ModelError, match=r"Invalid XML format\."):
        PmmlEngine().load(document)
    assert time.perf_counter() - start < 10.0  # loose: CI machines stall under load


@pytest.mark.parametrize(
    "document",
    [b"", b"   \n", b"<PMML", b"not xml at all", b"<PMML><DataDictionary></PMML>", b"\x00\xff"],
    ids=["empty", "blank", "truncated", "text", "mismatched", "binary"],
)
def test_malformed_xml_is_refused(document: bytes) -> None:
    with pytest.raises(ModelError, match=r"Invalid XML format\."):
        PmmlEngine().load(document)


def test_undefined_entity_reference_is_refused() -> None:
    with pytest.raises(ModelError, match=r"Invalid XML format\."):
        PmmlEngine().load(b'<PMML version="4.4">&undefined;</PMML>')


def test_non_pmml_root_is_refused() -> None:
    with pytest.raises(ModelError, match="root element is not PMML"):
        PmmlEngine().load(b"<html><body/></html>")


def test_document_without_model_is_refused() -> None:
    document = b"""<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
      <DataDictionary><DataField name="x" optype="continuous" dataType="double"/></DataDictionary>
    </PMML>"""
    with pytest.raises(ModelError, match="no model element"):
        PmmlEngine().load(document)
