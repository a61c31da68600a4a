"""A long script in the portal, in a real Chromium against the live server, the real
Celery worker and espeak: per-segment progress, which paragraphs came from the cache,
per-segment players and another take of one segment. Writes screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from synthesis.models import SynthesisRequest
from synthesis.services import runs
from tests.support.browser import screenshot, wait_for_result
from tests.support.moderation import worker_paused

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

PASSWORD = "a-long-Passphrase-9"
PARAGRAPHS = [
    "Chapter one. The harbour was quiet before the storm.",
    "Nobody on the pier had seen the boat leave.",
    "By evening the wind had turned, and the lamps were lit.",
    "Mara counted the ships coming home, one by one.",
    "The last one was late, and its sail was torn.",
    "She ran down to the water to meet it.",
]

PLAY = """async (selector) => {
  const audio = document.querySelector(selector);
  audio.muted = true;
  await audio.play();
  const started = Date.now();
  while (audio.currentTime === 0 && Date.now() - started < 15000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {currentTime: audio.currentTime, error: audio.error && audio.error.code};
}"""

PLAYER_READY = """(selector) => {
  const audio = document.querySelector(selector);
  return audio && audio.readyState >= 1 && audio.duration > 0;
}"""


def submit(page, text: str) -> None:
    page.get_by_label("Text", exact=True).fill(text)
    page.get_by_label("Voice", exact=True).select_option("espeak:en-us")
    page.get_by_role("button", name="Synthesize").click()


def segment_caches(page) -> list[str]:
    return page.locator("[data-testid=segment]").evaluate_all(
        "rows => rows.map(row => row.dataset.cache)"
    )


def test_a_script_shows_its_segments_and_an_edit_reuses_the_rest(new_page):
    page = new_page()
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill("scriptwriter")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/")

    # While the engine is busy the card shows each segment queued.
    with worker_paused():
        submit(page, "\n\n".join(PARAGRAPHS))
        summary = page.get_by_test_id("segments-summary")
        expect(summary).to_contain_text("0 of 6")
        expect(summary).to_contain_text("6 queued")
        states = page.locator("[data-testid=segment]").evaluate_all(
            "rows => rows.map(row => row.dataset.state)"
        )
        assert states == ["queued"] * 6
        screenshot(page, "script-progress")
        # Only the first segment is made (here, in the test process): the whole
        # script's player already plays it while the rest is queued.
        script = SynthesisRequest.objects.get()
        runs.artifact_synthesize(artifact_id=script.segments.get(index=0).artifact_id)
        played = page.evaluate(PLAY, "[data-testid=player]")
        assert played["error"] is None
        assert played["currentTime"] > 0
        assert script.segments.filter(artifact__status="queued").count() == 5
    assert wait_for_result(page, timeout=60_000) == "succeeded"
    expect(page.get_by_test_id("segments-summary")).to_contain_text("6 of 6")
    assert segment_caches(page) == ["miss"] * 6
    page.wait_for_function(
        PLAYER_READY, arg="#synthesis-status audio[data-testid=player]"
    )
    assert page.locator("[data-testid=segment-player]").count() == 6
    src = page.get_attribute("[data-testid=segment-player] >> nth=2", "src")
    clip = page.request.get(src)
    assert clip.status == 200
    assert clip.headers["content-type"] == "audio/wav"
    assert clip.body()[:4] == b"RIFF"

    # One paragraph edited: five come from the cache, one is new.
    edited = list(PARAGRAPHS)
    edited[3] = "Mara counted the ships coming home, two by two."
    previous = page.get_attribute("#synthesis-status", "data-synthesis")
    submit(page, "\n\n".join(edited))
    assert wait_for_result(page, after=previous, timeout=60_000) == "succeeded"
    assert segment_caches(page) == ["hit"] * 3 + ["miss"] + ["hit"] * 2
    expect(page.get_by_test_id("segments-summary")).to_contain_text("5 from the cache")
    screenshot(page, "script-edited")

    # Another take of segment 2: a new script, everything else from the cache.
    before = SynthesisRequest.objects.count()
    page.locator("[data-testid=segment]").nth(1).get_by_test_id("segment-take").click()
    page.wait_for_url("**/?synthesis=*")
    assert wait_for_result(page, timeout=60_000) == "succeeded"
    assert SynthesisRequest.objects.count() == before + 1
    take = SynthesisRequest.objects.order_by("-created_at").first()
    rows = list(take.segments.order_by("index"))
    assert [row.cache for row in rows] == ["hit", "miss", "hit", "hit", "hit", "hit"]
    assert rows[1].seed != 42
    assert [row.text for row in rows] == edited

    page.goto("/history/")
    expect(page.get_by_text("6 segments").first).to_be_visible()
