"""The README's "Try it" runs as written, twice in a row, against a live server and
the real worker: its shell blocks in one bash per paste, then its Python block with the
key those exported. Only the address changes (the README says 127.0.0.1:8000)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_ADDRESS = "127.0.0.1:8000"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]


def try_it_blocks() -> dict[str, list[str]]:
    """The fenced blocks of the README's "Try it" section, by language."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Try it", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for language, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        blocks.setdefault(language, []).append(body)
    return blocks


def test_the_try_it_section_has_shell_and_python_blocks():
    blocks = try_it_blocks()
    assert len(blocks["bash"]) >= 2
    assert len(blocks["python"]) == 1
    assert all(README_ADDRESS in block for block in blocks["bash"][:1])


def _paste(script: str, address: str, cwd: Path) -> subprocess.CompletedProcess:
    script = script.replace(README_ADDRESS, address)
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_try_it_pasted_twice(live_server, tmp_path):
    address = live_server.url.removeprefix("http://")
    blocks = try_it_blocks()
    shell = "\n".join(blocks["bash"]) + '\nprintf "%s" "$KEY" > key.txt\n'
    outputs = []
    for paste in (1, 2):
        result = _paste(shell, address, tmp_path)
        assert result.returncode == 0, (paste, result.stdout, result.stderr)
        outputs.append(result.stdout)

    first, second = outputs
    assert re.findall(r"(?im)^x-cache: (\w+)", first) == ["MISS", "HIT"]
    assert re.findall(r"(?im)^x-cache: (\w+)", second) == ["HIT", "HIT"]
    for out in outputs:
        hashes = re.findall(r"^([0-9a-f]{64})  hello-\d\.wav$", out, re.M)
        assert len(hashes) == 2 and hashes[0] == hashes[1], out
    assert (tmp_path / "hello-1.wav").read_bytes()[:4] == b"RIFF"

    python = blocks["python"][0].replace(README_ADDRESS, address)
    env = {**os.environ, "KEY": (tmp_path / "key.txt").read_text()}
    for _ in (1, 2):
        result = subprocess.run(
            [sys.executable, "-c", python],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        audio = (tmp_path / "hello.mp3").read_bytes()
        assert audio[:3] == b"ID3" or audio[:2] in (b"\xff\xfb", b"\xff\xf3")
