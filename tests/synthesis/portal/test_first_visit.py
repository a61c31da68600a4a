"""What a first visit meets: the landing, the text limit, the speed control, takes
side by side and a history that groups repeats (Django's test client; the same in a
real browser is in test_browser_takes.py)."""

import pytest

from synthesis.models import SynthesisRequest
from synthesis.services import syntheses

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_landing_says_what_the_product_does(client):
    page = client.get("/").content.decode()
    assert "Type text, get speech." in page
    assert "synthesized once" in page
    assert 'href="/accounts/signup/"' in page and 'href="/accounts/login/"' in page
    assert 'name="text"' not in page  # no form for anonymous visitors


def test_an_anonymous_post_to_the_synthesize_page_asks_to_log_in(client):
    response = client.post("/", {"text": "Hello."})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_limit_is_shown_and_a_longer_text_is_refused_not_cut(portal, settings):
    settings.TTS_MAX_TEXT_CHARS = 50_000
    page = portal.get("/").content.decode()
    assert "Up to 50000 characters" in page
    assert "maxlength" not in page
    settings.TTS_MAX_TEXT_CHARS = 100
    response = portal.post("/", {"text": "x" * 101, "seed": 42, "sample_rate": 24000})
    assert response.status_code == 400
    page = response.content.decode()
    assert "text has 101 characters; the limit is 100." in page
    assert "x" * 101 in page  # the text is kept in full, to be shortened
    assert not SynthesisRequest.objects.exists()


def test_speed_is_sent_and_checked(portal):
    form = {"text": "Faster, please.", "seed": 42, "sample_rate": 24000}
    portal.post("/", {**form, "speed": "1.5"})
    request = SynthesisRequest.objects.get()
    assert request.artifact.inputs["params"]["speed"] == 1.5
    response = portal.post("/", {**form, "speed": "9"})
    assert response.status_code == 400
    assert "less than or equal to 4.0" in response.content.decode()


@pytest.mark.usefixtures("celery_worker")
def test_another_take_runs_at_once_and_keeps_the_earlier_take(portal, user):
    portal.post("/", {"text": "Take it again.", "seed": 42, "sample_rate": 24000})
    first = SynthesisRequest.objects.get()
    response = portal.post(f"/syntheses/{first.pk}/another-take/")
    second = SynthesisRequest.objects.exclude(pk=first.pk).get()
    assert response["Location"] == f"/?synthesis={second.pk}"
    assert (second.text, second.voice_ref) == (first.text, first.voice_ref)
    assert second.seed != first.seed
    syntheses.synthesis_wait(request=second, timeout=30)

    page = portal.get(response["Location"]).content.decode()
    assert page.count('class="take"') == 2
    assert f"seed {first.seed}" in page and f"seed {second.seed}" in page
    assert page.count('id="synthesis-status"') == 1
    assert page.count("Keep this take") == 2

    kept = portal.post(f"/syntheses/{first.pk}/keep/")
    assert kept["Location"] == f"/?synthesis={first.pk}"
    assert list(SynthesisRequest.objects.values_list("pk", flat=True)) == [first.pk]


def test_another_take_of_someone_elses_synthesis_is_a_404(portal, other_user):
    theirs = syntheses.synthesis_create(
        user=other_user, data=syntheses.SynthesisInput(text="Mine.")
    )
    assert portal.post(f"/syntheses/{theirs.pk}/another-take/").status_code == 404
    assert portal.post(f"/syntheses/{theirs.pk}/keep/").status_code == 404
    assert SynthesisRequest.objects.count() == 1


@pytest.mark.usefixtures("celery_worker")
def test_history_shows_repeats_of_one_audio_as_one_row(portal, user):
    form = {"text": "Said three times.", "seed": 42, "sample_rate": 24000}
    portal.post("/", form)
    syntheses.synthesis_wait(request=SynthesisRequest.objects.get(), timeout=30)
    portal.post("/", form)
    portal.post("/", form)
    page = portal.get("/history/").content.decode()
    assert page.count('class="card history-item"') == 1
    assert "asked 3 times, played from cache 2 times" in page
    assert page.count("download-menu") == 1
    row = SynthesisRequest.objects.order_by("-created_at").first()
    portal.post(f"/history/{row.pk}/delete/")
    assert not SynthesisRequest.objects.exists()  # the whole row, all three requests
