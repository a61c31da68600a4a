"""What a failed run tells its users. An artifact is shared by everyone who asked for
the same audio, and its stored error_message may hold anything an engine or library
raised (paths, hostnames, internals): users see only a fixed message per error code;
the details stay in the worker's log and on the artifact for staff (admin)."""

from __future__ import annotations

MESSAGES = {
    "engine_error": "The engine could not produce this audio.",
    "internal_error": "The audio could not be produced because of a server error.",
    "timed_out": "The engine run did not finish in time.",
    "audio_too_long": "The engine produced audio that is too long for the text.",
    "audio_too_short": "The engine produced audio that is too short.",
    "audio_too_short_for_text": "The engine produced audio too short for the text.",
    "clipped_audio": "The engine produced distorted (clipped) audio.",
    "dc_offset_audio": "The engine produced damaged audio.",
    "dc_only_audio": "The engine produced damaged audio.",
    "empty_audio": "The engine produced no audio.",
    "non_finite_audio": "The engine produced damaged audio.",
    "silent_audio": "The engine produced only silence.",
    # A script's joined audio (services/joins.py).
    "segment_failed": "A segment of this script could not be produced; ask again to "
    "retry it (the other segments are kept).",
    "join_error": "The segments could not be joined; ask again to retry.",
    "not_run": "Not synthesized: the script it belongs to is blocked.",
}
DEFAULT = "The synthesis failed."


def public_message(code: str) -> str:
    return MESSAGES.get(code, DEFAULT)
