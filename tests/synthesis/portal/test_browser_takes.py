"""A first visit in a real Chromium: the landing, the text limit, Ctrl+Enter, speed,
two takes side by side, history grouping and the builtin voices' previews. Writes the
screenshots of docs/screenshots/ for these pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from synthesis.models import SynthesisRequest
from tests.support.browser import screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

PASSWORD = "a-long-Passphrase-9"
LINE = "Two takes of one line, side by side."

PLAY = """async (selector) => {
  const audio = document.querySelector(selector);
  audio.muted = true;
  await audio.play();
  while (audio.currentTime === 0 && !audio.ended) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {duration: audio.duration, error: audio.error && audio.error.code};
}"""


def wait_for_takes(page, count: int) -> None:
    page.wait_for_function(
        """(count) => {
          const cards = document.querySelectorAll("#takes .status-card");
          return cards.length === count && [...cards].every(
            (card) => !["queued", "running"].includes(card.dataset.status));
        }""",
        arg=count,
        timeout=30_000,
    )


def test_landing_sign_up_and_the_synthesize_form(new_page, settings):
    page = new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="Type text, get speech.")).to_be_visible()
    screenshot(page, "landing")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Username").fill("theo")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/")

    # The limit is visible before anything is typed; a longer paste is kept whole
    # and a warning says by how much it is over.
    limit = settings.TTS_MAX_TEXT_CHARS
    expect(page.locator("#text-counter")).to_contain_text(f"Up to {limit} characters")
    text = page.get_by_label("Text", exact=True)
    expect(page.locator(".over-limit")).to_be_hidden()
    text.fill("a" * (limit + 1000))
    assert len(text.input_value()) == limit + 1000
    warning = page.locator(".over-limit")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("1000 characters over the limit")
    text.fill("Short again.")
    expect(warning).to_be_hidden()

    # Ctrl+Enter synthesizes, at the speed asked for.
    text.fill("Quick, with the keyboard.")
    page.get_by_label("Voice", exact=True).select_option("espeak:en-us")
    page.get_by_label("Speed").fill("1.25")
    text.press("Control+Enter")
    wait_for_takes(page, 1)
    request = SynthesisRequest.objects.get(user__username="theo")
    assert request.text == "Quick, with the keyboard."
    assert request.artifact.inputs["params"]["speed"] == 1.25


def test_two_takes_side_by_side_history_and_previews(new_page, django_user_model):
    django_user_model.objects.create_user(username="ivy", password=PASSWORD)
    page = new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")

    page.get_by_label("Text", exact=True).fill(LINE)
    page.get_by_label("Voice", exact=True).select_option("espeak:en-us")
    page.get_by_role("button", name="Synthesize").click()
    wait_for_takes(page, 1)
    first_seed = page.get_attribute("#takes .take", "data-take-seed")

    # Another take runs at once; the first stays beside it, each with its seed.
    page.get_by_role("button", name="Another take").click()
    wait_for_takes(page, 2)
    takes = page.locator("#takes .take")
    seeds = [takes.nth(i).get_attribute("data-take-seed") for i in range(2)]
    assert seeds[1] == first_seed and seeds[0] != first_seed
    for i, seed in enumerate(seeds):
        expect(takes.nth(i)).to_contain_text(f"seed {seed}")
    boxes = [takes.nth(i).bounding_box() for i in range(2)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2, "takes are not side by side"
    assert page.evaluate(PLAY, "#takes .take:nth-of-type(2) audio")["error"] is None
    screenshot(page, "synthesize-takes")

    # The same take again is a cache hit; history shows it once, with the count.
    page.get_by_label("Seed", exact=True).fill(first_seed)
    page.get_by_role("button", name="Synthesize").click()
    page.wait_for_function(
        "() => document.querySelector('#synthesis-status [data-testid=outcome]')"
        " && document.querySelector('#synthesis-status [data-testid=outcome]')"
        ".innerText === 'Served from cache'",
        timeout=30_000,
    )
    page.get_by_role("link", name="History").click()
    rows = page.locator(".history-item")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("played from cache 1 time")
    expect(rows.nth(0).locator(".download-menu")).to_have_count(1)
    rows.nth(0).get_by_text("Download").click()
    expect(rows.nth(0).get_by_role("link", name="MP3")).to_be_visible()
    screenshot(page, "history-repeats")

    # Keep one take: the other leaves the history.
    page.goto("/")
    page.get_by_label("Text", exact=True).fill(LINE)
    page.get_by_role("button", name="Synthesize").click()
    wait_for_takes(page, 2)
    page.locator(f"#takes .take[data-take-seed='{first_seed}']").get_by_role(
        "button", name="Keep this take"
    ).click()
    expect(page.get_by_text(f"Kept the take with seed {first_seed}")).to_be_visible()
    assert set(
        SynthesisRequest.objects.filter(user__username="ivy").values_list(
            "seed", flat=True
        )
    ) == {int(first_seed)}

    # The Voices page plays a sample of every builtin voice.
    page.get_by_role("link", name="Voices").click()
    builtin = page.locator("[data-builtin-voice]")
    expect(builtin).to_have_count(7)
    expect(page.locator("[data-builtin-voice='espeak:en-gb']")).to_contain_text(
        "English, British accent"
    )
    played = page.evaluate(PLAY, "[data-builtin-voice='espeak:en-gb'] audio")
    assert played["error"] is None and played["duration"] > 1.0
    screenshot(page, "voices-previews")
