"""The nginx configuration of docs/deploy.md is the one the tests run
(tests/support/nginx.py), with the documented paths."""

from pathlib import Path

from tests.support.nginx import rendered

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"


def _lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def test_deploy_docs_carry_the_tested_nginx_configuration():
    documented = _lines(DEPLOY.read_text())
    for part in rendered(
        prefix="/_media", media_root="/var/lib/tts/media", cache="/run"
    ):
        assert _lines(part) in documented
