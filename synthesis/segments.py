"""How a text splits into segments: the unit of engine work, caching and streaming.

Pure functions, no Django import (docs/architecture.md "Segments"). The split depends on
the text alone, and on each paragraph alone: a paragraph (text between blank lines) that
fits in `max_chars` is one segment, so prosody stays whole within it; a longer one is cut
at sentence ends into as few consecutive pieces as fit; a sentence longer than the limit
is cut at a clause, then a word boundary. Editing one paragraph therefore never moves
another paragraph's boundaries, and every unchanged paragraph keeps its fingerprint.
Changing anything here changes segment fingerprints: tests/synthesis/test_segments.py
holds golden splits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Blank lines (whitespace allowed on them) separate paragraphs.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
# A sentence ends after . ! ? … (with closing quotes or brackets) followed by
# whitespace, or right after a CJK full stop, exclamation or question mark.
_SENTENCE_END = re.compile(r"(?:[.!?…]+[\"'”’)\]»]*\s+)|(?:[。！？]+[”’」』）】]*\s*)")
# Clause boundaries, for a sentence longer than the limit.
_CLAUSE_END = re.compile(r"(?:[,;:—–]\s+)|(?:[，；：、]\s*)")
_WORD_END = re.compile(r"\s+")

# Seams: silence between paragraphs, none between the pieces of one paragraph; a short
# fade at every seam so no discontinuity clicks.
PARAGRAPH_PAUSE_MS = 400
SENTENCE_PAUSE_MS = 0
FADE_MS = 5


@dataclass(frozen=True)
class SegmentText:
    text: str
    # True when a paragraph ends after this segment (a pause follows it when joined).
    paragraph_end: bool = True


def is_speakable(text: str) -> bool:
    """Letters or digits: something an engine can say."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def _pieces(text: str, boundary: re.Pattern[str]) -> list[str]:
    """`text` cut after every match of `boundary`; the pieces join back to `text`."""
    pieces, start = [], 0
    for match in boundary.finditer(text):
        if match.end() > start and match.end() < len(text):
            pieces.append(text[start : match.end()])
            start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p]


def _hard_cut(text: str, max_chars: int) -> list[str]:
    return [text[i : i + max_chars] for i in range(0, len(text), max_chars)]


def _fit(text: str, max_chars: int, levels: tuple[re.Pattern[str], ...]) -> list[str]:
    """Pieces of at most `max_chars`, cut at the first boundary level that has one."""
    if len(text) <= max_chars:
        return [text]
    if not levels:
        return _hard_cut(text, max_chars)
    units: list[str] = []
    for piece in _pieces(text, levels[0]):
        units.extend(_fit(piece, max_chars, levels[1:]))
    return _pack(units, max_chars)


def _pack(units: list[str], max_chars: int) -> list[str]:
    """Consecutive units packed greedily: the fewest pieces that each fit."""
    packed: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + len(unit) > max_chars:
            packed.append(current)
            current = ""
        current += unit
    if current:
        packed.append(current)
    return packed


def split_paragraph(paragraph: str, max_chars: int) -> list[str]:
    pieces = _fit(paragraph, max_chars, (_SENTENCE_END, _CLAUSE_END, _WORD_END))
    # Whitespace at a cut belongs to no segment: the engine is given trimmed text.
    return [p.strip() for p in pieces if p.strip()]


def split_text(text: str, max_chars: int) -> list[SegmentText]:
    """The segments of `text`, in order. Paragraphs with nothing speakable (a row of
    asterisks, an emoji line) are left out: they would be silence anyway."""
    segments: list[SegmentText] = []
    for paragraph in paragraphs(text):
        if not is_speakable(paragraph):
            continue
        pieces: list[str] = []
        for piece in split_paragraph(paragraph, max_chars):
            # A cut can leave a piece with nothing to say (a dash, a closing quote): it
            # stays with its neighbour rather than become a silent segment.
            if pieces and not (is_speakable(piece) and is_speakable(pieces[-1])):
                pieces[-1] = f"{pieces[-1]} {piece}"
            else:
                pieces.append(piece)
        for number, piece in enumerate(pieces, start=1):
            segments.append(SegmentText(piece, paragraph_end=number == len(pieces)))
    return segments


def join_settings(segments: list[SegmentText]) -> dict[str, object]:
    """How the segments' audio is joined: what the joined audio's fingerprint covers
    besides the segment fingerprints. `gaps_ms[i]` is the silence after segment i."""
    gaps = [
        PARAGRAPH_PAUSE_MS if segment.paragraph_end else SENTENCE_PAUSE_MS
        for segment in segments[:-1]
    ]
    return {"fade_ms": FADE_MS, "gaps_ms": gaps}


def joined_inputs(
    fingerprints: list[str], join: dict[str, object]
) -> dict[str, object]:
    """The canonical inputs of a many-segment synthesis' joined audio."""
    return {"v": 1, "join": dict(join), "segments": list(fingerprints)}
