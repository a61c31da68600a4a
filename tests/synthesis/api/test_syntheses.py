"""The syntheses endpoints of docs/api.md, end to end: real Postgres, Redis, Celery worker
and espeak engine."""

import pytest

from synthesis.models import Artifact, SynthesisRequest
from synthesis.services import hit_counts
from tests.support.api import (
    SYNTHESIS_FIELDS,
    assert_error,
    audio_bytes,
    decode,
    synthesize,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]


def test_a_new_text_is_a_miss_then_a_byte_identical_hit(api):
    hit_counts.hit_counts_fold()  # counts other runs left in Redis: none of ours yet
    first = synthesize(api)
    assert first.status_code == 200, first.content
    body = first.json()
    assert set(body) >= SYNTHESIS_FIELDS
    assert body["status"] == "succeeded"
    assert body["cache"] == "miss"
    assert first["X-Cache"] == "MISS"
    assert first["X-Fingerprint"] == body["fingerprint"]
    assert len(body["fingerprint"]) == 64
    assert first["Location"] == f"/api/v1/syntheses/{body['id']}"
    assert body["audio_url"] == f"/api/v1/syntheses/{body['id']}/audio"
    assert body["engine"] == "espeak"
    assert body["voice"] == "espeak:en-us"
    assert body["seed"] == 42
    assert body["sample_rate"] == 24000
    assert body["characters"] == len("Hello, this is a cache test.")
    assert body["error"] is None
    assert body["finished_at"] and body["created_at"]
    assert 0.5 < body["duration_s"] < 5

    second = synthesize(api)
    assert second.status_code == 200
    assert second["X-Cache"] == "HIT"
    assert second.json()["cache"] == "hit"
    assert second.json()["id"] != body["id"]
    assert second["X-Fingerprint"] == first["X-Fingerprint"]

    first_audio = audio_bytes(api, body)
    assert first_audio == audio_bytes(api, second.json())
    samples, rate = decode(first_audio)
    assert rate == 24000
    assert abs(len(samples) / rate - body["duration_s"]) < 0.01
    artifact = Artifact.objects.get(fingerprint=body["fingerprint"])
    assert artifact.attempts == 1
    hit_counts.hit_counts_fold()  # hits are counted in Redis, then folded
    artifact.refresh_from_db()
    assert artifact.hit_count == 1


def test_without_wait_the_answer_is_202_and_the_detail_follows(api):
    response = api.post("/api/v1/syntheses", {"text": "Queued first."}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] in ("queued", "running")
    assert response.json()["audio_url"] is None
    detail = api.get(f"/api/v1/syntheses/{response.json()['id']}?wait=30")
    assert detail.status_code == 200
    assert detail.json()["status"] == "succeeded"
    assert detail["X-Cache"] == "MISS"


def test_the_same_text_from_another_user_is_a_hit(api, other_api):
    synthesize(api, text="Shared between users.")
    response = synthesize(other_api, text="Shared between users.")
    assert response["X-Cache"] == "HIT"
    assert SynthesisRequest.objects.count() == 2
    assert Artifact.objects.count() == 1


def test_seed_sample_rate_and_voice_make_distinct_audio(api):
    base = synthesize(api, text="Distinct inputs.").json()
    seed = synthesize(api, text="Distinct inputs.", seed=7).json()
    rate = synthesize(api, text="Distinct inputs.", sample_rate=16000).json()
    voice = synthesize(api, text="Distinct inputs.", voice="espeak:en-gb").json()
    bare = synthesize(api, text="Distinct inputs.", voice="en-gb").json()
    fingerprints = {
        base["fingerprint"],
        seed["fingerprint"],
        rate["fingerprint"],
        voice["fingerprint"],
    }
    assert len(fingerprints) == 4
    assert bare["fingerprint"] == voice["fingerprint"] and bare["cache"] == "hit"
    assert {s["cache"] for s in (base, seed, rate, voice)} == {"miss"}
    assert {s["status"] for s in (base, seed, rate, voice)} == {"succeeded"}
    _, sample_rate = decode(audio_bytes(api, rate))
    assert sample_rate == 16000
    assert audio_bytes(api, seed) != audio_bytes(api, base)


def test_nfc_equivalent_texts_are_one_artifact(api):
    composed = synthesize(api, text="Caf\u00e9 au lait.").json()
    decomposed = synthesize(api, text="Cafe\u0301 au lait.").json()
    assert decomposed["cache"] == "hit"
    assert decomposed["fingerprint"] == composed["fingerprint"]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({}, "required", "text"),
        ({"text": ""}, "text_empty", "text"),
        ({"text": "   \n\t "}, "text_empty", "text"),
        ({"text": "\u200b\u200d \U0001f600\U0001f389"}, "text_not_speakable", "text"),
        ({"text": "?!..."}, "text_not_speakable", "text"),
        ({"text": "x" * 50_001}, "text_too_long", "text"),
        ({"text": 42}, "invalid", "text"),
        ({"text": "Hi", "seed": "42"}, "invalid", "seed"),
        ({"text": "Hi", "seed": True}, "invalid", "seed"),
        ({"text": "Hi", "seed": 1.5}, "invalid", "seed"),
        ({"text": "Hi", "seed": -1}, "min_value", "seed"),
        ({"text": "Hi", "seed": 2**32}, "max_value", "seed"),
        ({"text": "Hi", "sample_rate": 12345}, "invalid_sample_rate", "sample_rate"),
        ({"text": "Hi", "sample_rate": "24000"}, "invalid", "sample_rate"),
        ({"text": "Hi", "voice": "nobody"}, "voice_not_found", "voice"),
        ({"text": "Hi", "voice": "kokoro:jf_alpha"}, "voice_not_available", "voice"),
        ({"text": "Hi", "voice": 3}, "invalid", "voice"),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape(api, body, code, param):
    response = api.post("/api/v1/syntheses", body, format="json")
    error = assert_error(response, 400, code, param)
    assert error["type"] == "invalid_request_error"
    assert SynthesisRequest.objects.count() == 0


def test_an_unknown_voice_names_the_valid_ones(api):
    response = api.post(
        "/api/v1/syntheses", {"text": "Hi", "voice": "af_heart"}, format="json"
    )
    message = assert_error(response, 400, "voice_not_found", "voice")["message"]
    assert "'af_heart'" in message
    assert "espeak:en-us, espeak:en-us+f3, espeak:en-gb" in message
    assert "GET /api/v1/voices" in message


def test_malformed_json_and_bad_wait_are_400(api):
    response = api.post(
        "/api/v1/syntheses", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "invalid_json")
    response = api.post("/api/v1/syntheses?wait=61", {"text": "Hi"}, format="json")
    assert_error(response, 400, "invalid_wait", "wait")
    response = api.post("/api/v1/syntheses?wait=abc", {"text": "Hi"}, format="json")
    assert_error(response, 400, "invalid_wait", "wait")


def test_unknown_fields_are_ignored(api):
    response = synthesize(api, text="Extra fields.", colour="blue")
    assert response.status_code == 200


def test_someone_elses_synthesis_is_404_everywhere(api, other_api):
    body = synthesize(api, text="Private words.").json()
    for path in (f"/api/v1/syntheses/{body['id']}", body["audio_url"]):
        assert_error(other_api.get(path), 404, "not_found")
    assert_error(other_api.delete(f"/api/v1/syntheses/{body['id']}"), 404)
    assert other_api.get("/api/v1/syntheses").json()["count"] == 0
    assert_error(api.get("/api/v1/syntheses/not-a-uuid"), 404)


def test_history_lists_newest_first_with_filters_and_search(api):
    synthesize(api, text="The first apple.")
    synthesize(api, text="The second banana.")
    synthesize(api, text="The first apple.")
    synthesize(api, text="A cherry.", voice="espeak:en-gb")
    page = api.get("/api/v1/syntheses").json()
    assert page["count"] == 4
    assert set(page) == {"count", "next", "previous", "results"}
    assert [r["text"] for r in page["results"]] == [
        "A cherry.",
        "The first apple.",
        "The second banana.",
        "The first apple.",
    ]
    assert api.get("/api/v1/syntheses?search=APPLE").json()["count"] == 2
    assert api.get("/api/v1/syntheses?cache=hit").json()["count"] == 1
    assert api.get("/api/v1/syntheses?cache=miss").json()["count"] == 3
    assert api.get("/api/v1/syntheses?status=succeeded").json()["count"] == 4
    assert api.get("/api/v1/syntheses?voice=espeak:en-gb").json()["count"] == 1
    paged = api.get("/api/v1/syntheses?page_size=3").json()
    assert len(paged["results"]) == 3 and paged["next"]
    assert_error(api.get("/api/v1/syntheses?cache=warm"), 400, param="cache")
    assert_error(api.get("/api/v1/syntheses?page=99"), 404)


def test_audio_supports_ranges_and_etags(api):
    body = synthesize(api, text="Seek through me.").json()
    whole = audio_bytes(api, body)
    url = body["audio_url"]
    response = api.get(url)
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{body["fingerprint"]}.wav"'
    assert "seek-through-me" in response["Content-Disposition"]

    part = api.get(url, HTTP_RANGE="bytes=10-109")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-109/{len(whole)}"
    assert b"".join(part.streaming_content) == whole[10:110]

    tail = api.get(url, HTTP_RANGE="bytes=-50")
    assert b"".join(tail.streaming_content) == whole[-50:]
    open_ended = api.get(url, HTTP_RANGE=f"bytes={len(whole) - 5}-")
    assert b"".join(open_ended.streaming_content) == whole[-5:]

    unsatisfiable = api.get(url, HTTP_RANGE=f"bytes={len(whole)}-")
    assert_error(unsatisfiable, 416, "range_not_satisfiable")
    assert unsatisfiable["Content-Range"] == f"bytes */{len(whole)}"

    assert api.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    download = api.get(url + "?download=1")
    assert download["Content-Disposition"].startswith("attachment")
    assert_error(api.get(url + "?format=aiff"), 400, "unsupported_format", "format")


def test_delete_removes_history_and_audio_once_unreferenced(
    api, other_api, results_redis
):
    mine = synthesize(api, text="Delete me later.").json()
    theirs = synthesize(other_api, text="Delete me later.").json()
    artifact = Artifact.objects.get(fingerprint=mine["fingerprint"])
    from synthesis import storage

    assert api.delete(f"/api/v1/syntheses/{mine['id']}").status_code == 204
    assert_error(api.get(f"/api/v1/syntheses/{mine['id']}"), 404)
    assert storage.exists(artifact.audio_name)  # bob's history still refers to it
    assert audio_bytes(other_api, theirs)

    assert other_api.delete(f"/api/v1/syntheses/{theirs['id']}").status_code == 204
    assert not storage.exists(artifact.audio_name)
    assert not results_redis.exists(f"tts:v1:{mine['fingerprint']}")
    artifact.refresh_from_db()
    assert artifact.status == Artifact.Status.PURGED

    again = synthesize(api, text="Delete me later.")
    assert again["X-Cache"] == "MISS"
    assert again.json()["status"] == "succeeded"


def test_wrong_method_and_unknown_paths_use_the_error_shape(api):
    assert_error(
        api.put("/api/v1/syntheses", {}, format="json"), 405, "method_not_allowed"
    )
    assert_error(api.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(api.get("/v1/nothing-here"), 404, "not_found")


def test_speed_is_fingerprinted_only_when_it_changes_the_audio(api):
    plain = synthesize(api, text="Speed it up.").json()
    same = synthesize(api, text="Speed it up.", speed=1.0)
    assert same["X-Cache"] == "HIT"
    assert same.json()["fingerprint"] == plain["fingerprint"]
    fast = synthesize(api, text="Speed it up.", speed=1.25).json()
    assert fast["cache"] == "miss"
    assert fast["status"] == "succeeded"
    assert fast["fingerprint"] != plain["fingerprint"]
    assert fast["duration_s"] == pytest.approx(plain["duration_s"] / 1.25, rel=0.05)
    for bad in (5, 0.1, "fast"):
        response = api.post(
            "/api/v1/syntheses", {"text": "Hi", "speed": bad}, format="json"
        )
        assert_error(response, 400, param="speed")


def test_removed_audio_reads_as_a_failure_with_a_reason(api):
    body = synthesize(api, text="Removed later.").json()
    Artifact.objects.filter(fingerprint=body["fingerprint"]).update(
        status=Artifact.Status.PURGED, audio_name=""
    )
    detail = api.get(f"/api/v1/syntheses/{body['id']}").json()
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "audio_removed"
    assert detail["audio_url"] is None
