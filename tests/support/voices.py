"""Voice uploads and syntheses with a clip, as the API tests send them."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

PROMPT = "The quick brown fox jumps over the lazy dog."


def upload(client, data: bytes | None = None, name="take.wav", **fields):
    body = {"name": "Narrator", "prompt_text": PROMPT, "consent": "true", **fields}
    if data is not None:
        body["audio"] = SimpleUploadedFile(name, data)
    return client.post("/api/v1/voices", body, format="multipart")


def synthesize_with_clip(
    client, data: bytes, text="Reference test.", name="clip.wav", **fields
):
    body = {
        "text": text,
        "prompt_audio": SimpleUploadedFile(name, data),
        "prompt_text": PROMPT,
        **fields,
    }
    return client.post("/api/v1/syntheses?wait=30", body, format="multipart")
