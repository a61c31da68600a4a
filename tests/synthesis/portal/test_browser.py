"""The creators' journey in a real Chromium against the live server, the real Celery
worker and the espeak engine. Also writes the screenshots in docs/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from synthesis.models import SynthesisRequest, Voice
from tests.support.browser import log_in, screenshot, wait_for_result
from tests.support.tones import voiced_tone_wav

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

PASSWORD = "a-long-Passphrase-9"
LINE = "Welcome to the studio, where every line is spoken once."

PLAYER_READY = """(selector) => {
  const audio = document.querySelector(selector);
  return audio && audio.readyState >= 1 && audio.duration > 0;
}"""

PLAY = """async (selector) => {
  const audio = document.querySelector(selector);
  audio.muted = true;
  await audio.play();
  // Playing means the clock moves; wait for it rather than for a fixed time.
  while (audio.currentTime === 0 && !audio.ended) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    readyState: audio.readyState,
    duration: audio.duration,
    currentTime: audio.currentTime,
    error: audio.error && audio.error.code,
  };
}"""

SEEK = """async (selector) => {
  const audio = document.querySelector(selector);
  if (audio.readyState < 1) {
    audio.load();
    await new Promise((resolve) => audio.addEventListener("loadedmetadata", resolve, {once: true}));
  }
  audio.currentTime = audio.duration / 2;
  await new Promise((resolve) => audio.addEventListener("seeked", resolve, {once: true}));
  return {
    currentTime: audio.currentTime,
    duration: audio.duration,
    seekable: audio.seekable.length ? audio.seekable.end(0) : 0,
  };
}"""

# Records every status the progress card shows, to prove it moved without a reload.
# A MutationObserver sees each swap before the next animation frame, so before any
# wait_for_function poll can see the card.
WATCH_STATUS = """() => {
  window.__seen = [];
  window.__notReloaded = true;
  const record = () => {
    const card = document.querySelector("#synthesis-status");
    const key = card && card.dataset.synthesis + ":" + card.dataset.status;
    if (card && window.__last !== key) {
      window.__last = key;
      window.__seen.push(card.dataset.status);
    }
  };
  record();
  window.__seen = [];
  new MutationObserver(record).observe(document.body, {childList: true, subtree: true});
}"""


def sign_up(page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/")


def synthesize(page, text: str, *, voice: dict | None = None, seed: int = 42) -> str:
    page.evaluate(WATCH_STATUS)
    page.get_by_label("Text", exact=True).fill(text)
    page.get_by_label("Voice", exact=True).select_option(
        **(voice or {"value": "espeak:en-us"})
    )
    page.get_by_label("Seed", exact=True).fill(str(seed))
    page.get_by_label("Sample rate", exact=True).select_option("24000")
    card = page.locator("#synthesis-status")
    previous = card.get_attribute("data-synthesis") if card.count() else None
    page.get_by_role("button", name="Synthesize").click()
    status = wait_for_result(page, after=previous)
    seen = page.evaluate("window.__seen")
    assert page.evaluate("window.__notReloaded"), "the page reloaded"
    assert seen[-1] == status
    return status


def test_a_creator_synthesizes_replays_manages_voices_and_keys(new_page, tmp_path):
    page = new_page()
    audio_responses = []
    page.on(
        "response",
        lambda r: (
            audio_responses.append(r) if re.search(r"/audio(\?|$)", r.url) else None
        ),
    )

    page.goto("/accounts/signup/")
    screenshot(page, "signup")
    sign_up(page, "maya")
    expect(page.get_by_text("Welcome, maya!")).to_be_visible()
    screenshot(page, "synthesize-empty")

    # Live character count while typing.
    page.get_by_label("Text", exact=True).fill("Hello")
    assert page.locator("#text-counter [data-count]").inner_text() == "5"
    assert "Up to 50000 characters" in page.locator("#text-counter").inner_text()

    # Synthesize: progress without a reload, then a player that plays a WAV.
    assert synthesize(page, LINE) == "succeeded"
    seen = page.evaluate("window.__seen")
    assert seen[0] in ("queued", "running"), seen
    outcome = page.get_by_test_id("outcome").inner_text()
    assert re.fullmatch(r"Synthesized in \d+\.\d\d s", outcome), outcome
    page.wait_for_function(PLAYER_READY, arg="#synthesis-status audio")
    played = page.evaluate(PLAY, "#synthesis-status audio")
    assert played["error"] is None
    assert played["readyState"] >= 2
    assert played["duration"] > 1.0
    assert played["currentTime"] > 0
    src = page.get_attribute("#synthesis-status audio", "src")
    assert any(
        r.url.endswith(src) and r.headers["content-type"] == "audio/wav"
        for r in audio_responses
    )
    whole = page.request.get(src)
    assert whole.status == 200
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.body()[:4] == b"RIFF"
    part = page.request.get(src, headers={"Range": "bytes=0-43"})
    assert part.status == 206
    assert len(part.body()) == 44
    download = page.request.get(
        page.get_attribute("#synthesis-status .download-menu a >> text=WAV", "href")
    )
    assert download.headers["content-disposition"].startswith("attachment;")
    screenshot(page, "synthesize-result")

    # The same text again comes from the cache.
    assert synthesize(page, LINE) == "succeeded"
    assert page.get_by_test_id("outcome").inner_text() == "Served from cache"

    # History shows the two requests for one audio as one row, with the count;
    # search finds it; the player can seek.
    page.get_by_role("link", name="History").click()
    items = page.locator(".history-item")
    expect(items).to_have_count(1)
    assert LINE in items.nth(0).inner_text()
    assert "Served from cache" in items.nth(0).inner_text()
    assert "played from cache 1 time" in items.nth(0).inner_text()
    seek = page.evaluate(SEEK, ".history-item audio")
    assert seek["seekable"] > 1.0
    assert abs(seek["currentTime"] - seek["duration"] / 2) < 0.1
    page.get_by_label("Search").fill("studio")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".history-item")).to_have_count(1)
    page.get_by_label("Cache").select_option("miss")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".history-item")).to_have_count(1)
    page.get_by_label("Search").fill("nowhere to be found")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Nothing matches these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear", exact=True).click()
    screenshot(page, "history")

    # Delete the row (both requests), after a confirmation.
    page.locator(".history-item").nth(0).get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this synthesis?")).to_be_visible()
    screenshot(page, "confirm-delete")
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/history/")
    expect(page.locator(".history-item")).to_have_count(0)
    assert SynthesisRequest.objects.filter(user__username="maya").count() == 0

    # Upload a voice: 2 s of a voiced tone with harmonics.
    page.get_by_role("link", name="Voices").click()
    expect(page.get_by_text("No voices yet.")).to_be_visible()
    page.get_by_label("Name").fill("Warm tone")
    page.get_by_label("Audio clip").set_input_files(
        {"name": "tone.wav", "mimeType": "audio/wav", "buffer": voiced_tone_wav(2.0)}
    )
    page.get_by_label("Transcript").fill("Ah, a long and steady vowel.")
    page.get_by_label(re.compile("consent")).check()
    page.get_by_role("button", name="Upload voice").click()
    page.wait_for_url("**/voices/")
    voice_item = page.locator(".voice-item", has_text="Warm tone")
    expect(voice_item).to_have_count(1)
    clip = page.evaluate(SEEK, ".voice-item audio")
    assert abs(clip["duration"] - 2.0) < 0.05
    screenshot(page, "voices")
    voice = Voice.objects.get(owner__username="maya")

    # Synthesize with it: the request names the voice, finishes and plays.
    page.get_by_role("link", name="Synthesize").click()
    status = synthesize(page, "Spoken in my own voice.", voice={"label": "Warm tone"})
    request = SynthesisRequest.objects.get(text="Spoken in my own voice.")
    assert request.voice_ref == str(voice.pk)
    assert status == "succeeded"
    assert "Warm tone" in page.locator("#synthesis-status").inner_text()
    page.wait_for_function(PLAYER_READY, arg="#synthesis-status audio")

    # Create an API key (shown once, copyable), use it, revoke it.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("link", name="Account").click()
    page.get_by_label("Key name").fill("pipeline")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key").input_value()
    assert secret.startswith("tts_")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert (
        page.request.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
        ).status
        == 200
    )
    screenshot(page, "account")
    prefix = "_".join(secret.split("_", 2)[:2])  # tts_<hex>, the part kept in clear
    page.locator(f"tr[data-key='{prefix}']").get_by_role(
        "button", name="Revoke"
    ).click()
    expect(
        page.locator(f"tr[data-key='{prefix}']").get_by_text("Revoked")
    ).to_be_visible()
    expect(page.get_by_test_id("new-key")).to_have_count(0)  # never shown again
    assert (
        page.request.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
        ).status
        == 401
    )

    page.get_by_role("link", name="Change password").click()
    screenshot(page, "password-change")

    # Log out: the portal asks to log in again.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    screenshot(page, "login")
    page.goto("/history/")
    assert "/accounts/login/" in page.url


def test_another_user_never_sees_the_first_users_items(new_page, django_user_model):
    django_user_model.objects.create_user(username="ana", password=PASSWORD)
    django_user_model.objects.create_user(username="ben", password=PASSWORD)
    ana = new_page()
    log_in(ana, "ana", PASSWORD)
    assert synthesize(ana, "Ana's private line.") == "succeeded"
    audio_src = ana.get_attribute("#synthesis-status audio", "src")
    status_url = (
        f"/syntheses/{ana.get_attribute('#synthesis-status', 'data-synthesis')}/status/"
    )
    ana.goto("/voices/")
    ana.get_by_label("Name").fill("Ana's voice")
    ana.get_by_label("Audio clip").set_input_files(
        {"name": "ana.wav", "mimeType": "audio/wav", "buffer": voiced_tone_wav(1.5)}
    )
    ana.get_by_label("Transcript").fill("Ana speaking.")
    ana.get_by_label(re.compile("consent")).check()
    ana.get_by_role("button", name="Upload voice").click()
    ana.wait_for_url("**/voices/")
    voice = Voice.objects.get(owner__username="ana")

    ben = new_page()
    log_in(ben, "ben", PASSWORD)
    assert "Ana" not in ben.locator("#id_voice").inner_text()
    ben.goto("/history/")
    expect(ben.get_by_text("No syntheses yet.")).to_be_visible()
    ben.goto("/voices/")
    expect(ben.get_by_text("No voices yet.")).to_be_visible()
    assert "Ana" not in ben.content()
    for path in (
        audio_src,
        status_url,
        f"/api/v1/voices/{voice.pk}/audio",
        f"/history/{audio_src.split('/')[4]}/delete/",
    ):
        assert ben.request.get(path).status == 404, path
    # Ana still sees her own.
    ana.goto("/history/")
    expect(ana.locator(".history-item")).to_have_count(1)
