"""API key format and hashing: `tts_<prefix>_<secret>`."""

import hashlib
import secrets

KEY_PREFIX = "tts_"
PREFIX_CHARS = 8


def generate_key() -> tuple[str, str]:
    """Returns (plaintext key, its clear prefix)."""
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", f"{KEY_PREFIX}{prefix}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
