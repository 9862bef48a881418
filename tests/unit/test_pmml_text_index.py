"""TextIndex (PMML 4.4 Transformations, "TextIndex": the frequency of a term in a text field)
and TextIndexNormalization, with the specification's attributes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="text" optype="categorical" dataType="string"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""


def frequency(term: str, texts: list[Any], attributes: str = "", inner: str = "") -> list[Any]:
    body = f"""<RegressionModel functionName="regression">
      <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="text"/>
      </MiningSchema>
      <Output><OutputField name="f" feature="transformedValue" dataType="double">
        <TextIndex textField="text" {attributes}>{inner}
          <Constant dataType="string">{term}</Constant></TextIndex>
      </OutputField></Output>
      <RegressionTable intercept="0"/></RegressionModel>"""
    model = load_document(DICTIONARY, body)
    return list(model.score({"text": np.array(texts, dtype=object)})["f"])


def test_term_frequency_counts_every_hit_case_insensitively() -> None:
    # isCaseSensitive defaults to false; tokens are trimmed of punctuation
    got = frequency("pump", ["Pump, pump! the PUMP.", "no hit here", "pumped"])
    assert got == [3.0, 0.0, 0.0]


def test_a_term_of_several_words_counts_them_in_a_row() -> None:
    assert frequency("pump leak", ["pump leak pump  leak leak pump"]) == [2.0]


def test_binary_and_logarithmic_weights() -> None:
    assert frequency("a", ["a a a"], 'localTermWeights="binary"') == [1.0]
    assert frequency("a", ["a a a", "b"], 'localTermWeights="logarithmic"') == [
        math.log10(4.0),
        0.0,
    ]


def test_case_sensitive_index() -> None:
    assert frequency("Pump", ["Pump pump"], 'isCaseSensitive="true"') == [1.0]


def test_levenshtein_distance_and_best_hits() -> None:
    text = ["pump pmp pumps pimp"]
    assert frequency("pump", text, 'maxLevenshteinDistance="1"') == [4.0]
    # bestHits: only the hits of the smallest distance count
    assert frequency("pump", text, 'maxLevenshteinDistance="1" countHits="bestHits"') == [1.0]


def test_word_separator_pattern() -> None:
    got = frequency("b", ["a;b;b c"], r'wordSeparatorCharacterRE="[;\s]"')
    assert got == [2.0]


def test_missing_text_gives_missing() -> None:
    assert math.isnan(frequency("a", [None])[0])


NORMALIZATION = """<TextIndexNormalization {attributes}><InlineTable>
  <row><string>interfaces?</string><stem>interface</stem><regex>true</regex></row>
  <row><string>Windows</string><stem>windows</stem></row>
</InlineTable></TextIndexNormalization>"""


def test_normalization_rewrites_the_text_before_counting() -> None:
    inner = NORMALIZATION.format(attributes="")
    got = frequency("interface", ["Interfaces and interface, WINDOWS"], inner=inner)
    assert got == [2.0]


def test_recursive_normalization_repeats_until_nothing_changes() -> None:
    inner = """<TextIndexNormalization recursive="true"><InlineTable>
      <row><string>aa</string><stem>a</stem></row></InlineTable></TextIndexNormalization>"""
    assert frequency("a", ["aaaa b"], inner=inner) == [1.0]


def test_a_pattern_out_of_time_fails_only_its_row() -> None:
    inner = """<TextIndexNormalization><InlineTable>
      <row><string>(a|aa)+$</string><stem>x</stem><regex>true</regex></row>
      </InlineTable></TextIndexNormalization>"""
    got = frequency("x", ["a" * 40 + "b", "aa"], inner=inner)
    assert got[0] is None or math.isnan(got[0])
    assert got[1] == 1.0


def test_augmented_normalized_term_frequency_is_refused() -> None:
    with pytest.raises(ModelError, match="augmentedNormalizedTermFrequency"):
        frequency("a", ["a"], 'localTermWeights="augmentedNormalizedTermFrequency"')
