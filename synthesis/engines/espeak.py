"""espeak-ng 1.52 from the espeakng-loader wheel, driven through ctypes.

A few milliseconds a sentence: the test engine. libespeak-ng keeps state between calls
that no API call resets (the same text spoken twice in one process gives different
samples), so each synthesis runs in a forked child of a process whose library has
never spoken: every call starts from the same state and the output is byte-identical.
"""

from __future__ import annotations

import ctypes
import os
import threading
import unicodedata

import numpy as np

from .base import Audio, BuiltinVoice, Engine, EngineError, VoiceInput
from .selection import builtin_voice_for

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3
_DEFAULT_PITCH = 50

_VOICES = [
    BuiltinVoice("en-us", "English, US accent (male)", "en", "male", 120.0),
    BuiltinVoice("en-us+f3", "English, US accent (female)", "en", "female", 210.0),
    BuiltinVoice("en-gb", "English, British accent (male)", "en", "male", 110.0),
    BuiltinVoice("en-gb+f2", "English, British accent (female)", "en", "female", 190.0),
    BuiltinVoice("en-us+m3", "English, US accent (male, low)", "en", "male", 95.0),
    BuiltinVoice("cmn", "Mandarin, standard accent (male)", "zh", "male", 130.0),
    BuiltinVoice("cmn+f3", "Mandarin, standard accent (female)", "zh", "female", 220.0),
]

# Public voice names that espeak-ng spells otherwise.
_ESPEAK_NAMES = {"en-gb": "en", "en-gb+f2": "en+f2"}

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Library:
    """The loaded libespeak-ng, initialised once per process."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        data_path = espeakng_loader.get_data_path().encode()
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0
        )
        if self.sample_rate <= 0:
            raise EngineError("espeak-ng failed to initialise", permanent=False)
        self._chunks: list[bytes] = []
        # Keep a reference: ctypes would free the trampoline otherwise.
        self._callback = _Callback(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def _collect(self, wav, count, _events) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def speak(self, text: str, voice: str, pitch: int) -> bytes:
        self._chunks = []
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EngineError(f"espeak-ng has no voice {voice!r}", permanent=True)
        self.lib.espeak_SetParameter(_ESPEAK_RATE, 175, 0)
        self.lib.espeak_SetParameter(_ESPEAK_PITCH, pitch, 0)
        data = text.encode("utf-8")
        status = self.lib.espeak_Synth(
            data, len(data) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
        )
        self.lib.espeak_Synchronize()
        if status != 0:
            raise EngineError(f"espeak-ng failed with status {status}", permanent=False)
        return b"".join(self._chunks)


_lock = threading.Lock()
_library: _Library | None = None


def _get_library() -> _Library:
    global _library
    if _library is None:
        _library = _Library()
    return _library


def _speak_pristine(library: _Library, text: str, voice: str, pitch: int) -> bytes:
    """Speaks in a forked child so the parent's library state never changes."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: speak, hand the PCM over, leave without any cleanup
        status = 0
        try:
            os.close(read_end)
            pcm = library.speak(text, voice, pitch)
            with os.fdopen(write_end, "wb") as out:
                out.write(pcm)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        pcm = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise EngineError(
            f"espeak-ng could not speak with voice {voice!r}", permanent=True
        )
    return pcm


def seed_pitch(seed: int) -> int:
    """A seed shifts the pitch a little (-4..+4 around espeak's default), so another seed
    is audibly another take, deterministically."""
    return _DEFAULT_PITCH + (seed * 2654435761 % 9) - 4


def has_han(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK UNIFIED") for ch in text)


class EspeakEngine(Engine):
    name = "espeak"
    label = "eSpeak NG 1.52 (formant synthesis, fast)"
    queue = "cpu"
    default_voice = "en-us"
    distributions = ("espeakng-loader",)

    def warm_up(self) -> None:
        with _lock:
            _get_library()

    def voices(self) -> list[BuiltinVoice]:
        return list(_VOICES)

    def synthesize(self, *, text: str, voice: VoiceInput, seed: int) -> Audio:
        voice, info = builtin_voice_for(self, voice, text)
        with _lock:
            library = _get_library()
            espeak_name = _ESPEAK_NAMES.get(voice.name, voice.name)
            pcm = _speak_pristine(library, text, espeak_name, seed_pitch(seed))
            rate = library.sample_rate
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        return Audio(samples=samples, sample_rate=rate, info=info)
