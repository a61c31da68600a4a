"""The admin in a real Chromium at 1280 px: every list fits without sideways scrolling,
names read right, times are rounded. Writes docs/screenshots/admin-*.png."""

from __future__ import annotations

import pytest

from synthesis.models import Artifact
from tests.support.api import client_for, synthesize
from tests.support.browser import SCREENSHOTS, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

PASSWORD = "a-long-Passphrase-9"
LISTS = [
    "synthesis/artifact",
    "synthesis/synthesisrequest",
    "synthesis/voice",
    "synthesis/engineidentity",
    "synthesis/block",
    "synthesis/auditentry",
    "accounts/user",
    "accounts/apikey",
]
# How far a list's table is wider than its box (Django's admin scrolls it inside).
OVERFLOW = """() => {
  const box = document.querySelector("#changelist .results") || document.body;
  return box.scrollWidth - box.clientWidth;
}"""


def test_admin_lists_fit_1280_px_with_plural_names_and_rounded_times(
    new_page, django_user_model
):
    django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    api = client_for(django_user_model.objects.create_user("writer", password="x"))
    long_text = "A fairly long sentence for the list, " * 4
    synthesize(api, text=long_text.strip())
    synthesize(api, text=long_text.strip())
    artifact = Artifact.objects.get()

    page = new_page()
    log_in(page, "root", PASSWORD)
    page.goto("/admin/")
    assert "Echo TTS admin" in page.inner_text("#site-name")
    index = page.inner_text("#content-main")
    assert "Engine identities" in index and "identitys" not in index
    page.screenshot(path=SCREENSHOTS / "admin-desktop.png", full_page=True)

    for name in LISTS:
        page.goto(f"/admin/{name}/")
        assert page.evaluate(OVERFLOW) <= 0, f"{name} is wider than 1280 px"

    page.goto("/admin/synthesis/artifact/")
    row = page.inner_text("#result_list tbody tr")
    assert f"{artifact.engine_seconds:.2f} s" in row
    assert str(artifact.engine_seconds) not in row
    page.screenshot(path=SCREENSHOTS / "admin-artifacts-desktop.png", full_page=True)
    page.goto("/admin/synthesis/synthesisrequest/")
    assert "(queued)" in page.inner_text("#result_list")
