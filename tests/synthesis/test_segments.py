"""How texts split into segments (synthesis/segments.py): golden splits, since a change
here changes segment fingerprints and so empties the cache of every script."""

from __future__ import annotations

import pytest

from synthesis import fingerprint as fp
from synthesis.segments import (
    SegmentText,
    join_settings,
    joined_inputs,
    paragraphs,
    split_paragraph,
    split_text,
)

LIMIT = 600


def texts(segments: list[SegmentText]) -> list[str]:
    return [segment.text for segment in segments]


def test_a_paragraph_that_fits_is_one_segment_whatever_its_sentences():
    paragraph = "One sentence. Another one! A third? Yes… “Quoted.” End."
    assert texts(split_text(paragraph, LIMIT)) == [paragraph]


def test_paragraphs_are_separated_by_blank_lines_only():
    text = "First line\nstill the first paragraph.\n\nSecond.\n \t\n\n\nThird."
    assert paragraphs(text) == [
        "First line\nstill the first paragraph.",
        "Second.",
        "Third.",
    ]
    assert [s.paragraph_end for s in split_text(text, LIMIT)] == [True, True, True]


def test_windows_line_endings_separate_paragraphs_too():
    assert paragraphs("One.\r\n\r\nTwo.") == ["One.", "Two."]


def test_a_long_paragraph_is_cut_at_sentence_ends_into_as_few_pieces_as_fit():
    sentence = "This sentence has exactly fifty characters in it. "
    assert len(sentence) == 50
    paragraph = (sentence * 30).strip()  # 1,499 characters
    pieces = split_paragraph(paragraph, LIMIT)
    assert [len(p) for p in pieces] == [599, 599, 299]
    assert all(p.endswith("in it.") for p in pieces)
    assert " ".join(pieces) == paragraph
    segments = split_text(paragraph, LIMIT)
    assert [s.paragraph_end for s in segments] == [False, False, True]


def test_chinese_sentences_are_cut_after_their_full_stops():
    sentence = "这是一个用于测试的中文句子，长度固定。"  # 19 characters
    pieces = split_paragraph(sentence * 10, 60)
    assert pieces == [sentence * 3, sentence * 3, sentence * 3, sentence]


def test_a_sentence_over_the_limit_is_cut_at_clauses_then_words():
    clause = "a clause of words that goes on, "  # 32 characters
    sentence = (clause * 5).strip() + "."
    assert split_paragraph(sentence, 100) == [
        (clause * 3).strip(),
        (clause * 2).strip() + ".",
    ]
    words = " ".join(["word"] * 50)  # no clause boundary at all
    assert [len(p) for p in split_paragraph(words, 100)] == [99, 99, 49]


def test_text_without_any_boundary_is_cut_hard():
    assert split_paragraph("x" * 1300, LIMIT) == ["x" * 600, "x" * 600, "x" * 100]


def test_paragraphs_with_nothing_speakable_are_left_out():
    text = "Chapter one.\n\n* * *\n\n🙂🙂\n\nThe end."
    assert texts(split_text(text, LIMIT)) == ["Chapter one.", "The end."]


def test_editing_one_paragraph_never_moves_another_paragraphs_boundaries():
    long = ("A sentence of a long paragraph. " * 40).strip()
    before = f"{long}\n\nShort middle.\n\n{long}"
    after = f"{long}\n\nShort middle, edited and now much longer.\n\n{long}"
    a, b = texts(split_text(before, LIMIT)), texts(split_text(after, LIMIT))
    assert len(a) == len(b)
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    assert changed == [3]


def test_join_settings_pause_between_paragraphs_only():
    segments = [
        SegmentText("a", paragraph_end=False),
        SegmentText("b", paragraph_end=True),
        SegmentText("c", paragraph_end=True),
    ]
    assert join_settings(segments) == {"fade_ms": 5, "gaps_ms": [0, 400]}


def test_joined_fingerprint_is_a_golden_value():
    inputs = joined_inputs(["a" * 64, "b" * 64], {"fade_ms": 5, "gaps_ms": [400]})
    assert fp.canonical_json(inputs) == (
        b'{"join":{"fade_ms":5,"gaps_ms":[400]},"segments":["'
        + b"a" * 64
        + b'","'
        + b"b" * 64
        + b'"],"v":1}'
    )
    assert (
        fp.fingerprint_of(inputs)
        == "b6f8db348c9cdc3e0a71c3760ac15961bef5bc2bc96a514777b2b3c115e48d46"
    )


@pytest.mark.parametrize("limit", [1, 7, 60, 600])
def test_every_character_that_matters_is_kept(limit):
    text = "Hello there, friend. How are you? 你好，朋友。Fine!\n\nNext paragraph here."
    joined = "".join(texts(split_text(text, limit)))
    assert joined.replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )
