"""The fingerprint is the cache key of every stored output: a silent change empties the
cache, so its exact values are pinned here."""

import unicodedata

import pytest

from synthesis import fingerprint as fp

BASE = {
    "engine": "espeak",
    "model": "m" * 64,
    "text": "Hello, this is a cache test.",
    "voice": fp.builtin_voice("en-us"),
    "seed": 42,
    "sample_rate": 24000,
    "params": {},
}

# The first value is reproducible by hand:
#   printf '{"engine":"espeak","model":"mm…m","params":{},"sample_rate":24000,"seed":42,
#   "text":"Hello, this is a cache test.","v":1,"voice":{"kind":"builtin","name":"en-us"}}'
#   | sha256sum      (64 "m", one line)
GOLDEN = [
    (
        BASE,
        "600fec5288918e5ed8581cb48e7c2c8baf258739879aac22b71f9a89f82a91a0",
    ),
    (
        {**BASE, "text": "你好，这是一次缓存测试。", "voice": fp.builtin_voice("cmn")},
        "f5d7d105a7d66b6e1d62d62c277eef88e7c60f0b55a870d5a61fad20177c15f7",
    ),
    (
        {
            **BASE,
            "voice": fp.prompt_voice(audio_sha256="a" * 64, prompt_text="Reference."),
            "seed": 7,
            "sample_rate": 16000,
            "params": {"speed": 1.25},
        },
        "e16ed17d3373051aa1e1eb001a1505d1465473a199114429715de9b8bebb0319",
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), GOLDEN)
def test_golden_vectors(inputs, expected):
    assert fp.fingerprint(**inputs) == expected


def test_canonical_json_is_sorted_compact_utf8():
    inputs = fp.canonical_inputs(**{**BASE, "text": "café"})
    encoded = fp.canonical_json(inputs)
    assert encoded.startswith(b'{"engine":"espeak","model":')
    assert "café".encode() in encoded  # not \u escaped
    assert b", " not in encoded and b": " not in encoded


def test_nfc_equivalent_texts_share_a_fingerprint():
    composed = "Café crème"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert fp.fingerprint(**{**BASE, "text": composed}) == fp.fingerprint(
        **{**BASE, "text": decomposed}
    )


def test_outer_whitespace_does_not_change_it():
    assert fp.fingerprint(**{**BASE, "text": "  Hello.\n"}) == fp.fingerprint(
        **{**BASE, "text": "Hello."}
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("engine", "kokoro"),
        ("model", "n" * 64),
        ("text", "Hello, this is a cache test!"),
        ("text", "Hello,  this is a cache test."),
        ("voice", fp.builtin_voice("en-gb")),
        ("seed", 43),
        ("sample_rate", 22050),
        ("params", {"speed": 1.5}),
    ],
)
def test_every_input_changes_it(field, value):
    assert fp.fingerprint(**{**BASE, field: value}) != fp.fingerprint(**BASE)


def test_prompt_voice_depends_on_audio_and_transcript():
    voice = fp.prompt_voice(audio_sha256="a" * 64, prompt_text="One.")
    other_audio = fp.prompt_voice(audio_sha256="b" * 64, prompt_text="One.")
    other_text = fp.prompt_voice(audio_sha256="a" * 64, prompt_text="Two.")
    base = fp.fingerprint(**{**BASE, "voice": voice})
    assert fp.fingerprint(**{**BASE, "voice": other_audio}) != base
    assert fp.fingerprint(**{**BASE, "voice": other_text}) != base


def test_field_boundaries_are_unambiguous():
    # Concatenation would make these equal; canonical JSON keeps them apart.
    one = fp.fingerprint(**{**BASE, "text": "ab", "voice": fp.builtin_voice("c")})
    two = fp.fingerprint(**{**BASE, "text": "a", "voice": fp.builtin_voice("bc")})
    assert one != two


def test_it_is_pure_python():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(fp.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [node])
        if getattr(alias, "name", None)
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "django" not in imported
