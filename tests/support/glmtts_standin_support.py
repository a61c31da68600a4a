"""The lower half of the GLM-TTS stand-in tree (tests/support/glmtts_standin.py): the
call counter and fault injector, a numpy module standing in for torch, a stand-in of
transformers, and upstream's `utils` package."""

SUPPORT_FILES = {
    "_standin_calls.py": """
        import collections

        CALLS = collections.Counter()
        # stage -> exception raised by the next call of that stage ("llm", "flow").
        FAULTS = {}
        # generate_long's view of the history dict when each call starts.
        HISTORY = []
    """,
    "_numpy_torch.py": """
        import contextlib
        import types

        import numpy as np

        int32, int64, long = np.int32, np.int64, np.int64
        float32, float16, bfloat16 = np.float32, np.float16, "bfloat16"


        class Tensor(np.ndarray):
            def to(self, *args, **kwargs):
                return self

            def cpu(self):
                return self

            def detach(self):
                return self

            def numpy(self):
                return np.asarray(self)


        def tensor(data, dtype=None):
            return np.array(data, dtype=dtype).view(Tensor)


        def device(name):
            return name


        @contextlib.contextmanager
        def inference_mode():
            yield


        def manual_seed(seed):
            pass


        class OutOfMemoryError(RuntimeError):
            pass


        cuda = types.SimpleNamespace(
            is_available=lambda: False,
            OutOfMemoryError=OutOfMemoryError,
            manual_seed=manual_seed,
        )
    """,
    "_standin_transformers.py": """
        import json
        import os
        import zlib

        from _standin_calls import CALLS


        class _Tokenizer:
            def __init__(self, special):
                self.special = special

            def encode(self, text):
                if text in self.special:
                    return [self.special[text]]
                return [zlib.crc32(word.encode()) % 50000 for word in text.split()]


        class AutoTokenizer:
            @staticmethod
            def from_pretrained(path, trust_remote_code=False):
                with open(os.path.join(path, "tokenizer.json")) as f:
                    return _Tokenizer(json.load(f)["special"])


        class _Llama:
            def __init__(self, config):
                self.config = config
                self.model = type("Model", (), {"embed_tokens": object()})()

            def to(self, device):
                return self


        class LlamaForCausalLM:
            @staticmethod
            def from_pretrained(path, dtype=None):
                CALLS["from_pretrained"] += 1
                with open(os.path.join(path, "config.json")) as f:
                    return _Llama(json.load(f))
    """,
    "utils/__init__.py": "",
    "utils/seed_util.py": """
        import random

        import numpy


        def set_seed(seed):
            random.seed(seed)
            numpy.random.seed(seed)
    """,
    "utils/audio.py": """
        import numpy as np

        import _numpy_torch as torch


        def mel_spectrogram(y, n_fft, num_mels, sampling_rate, hop_size, win_size, fmin, fmax, center=False):
            y = np.asarray(y)[0]
            frames = len(y) // hop_size
            spectrum = np.abs(np.fft.rfft(y[: frames * hop_size].reshape(frames, hop_size), n=n_fft))
            mel = np.log(1e-5 + spectrum[:, :num_mels]).astype(np.float32)
            return torch.tensor(mel.T[None])
    """,
    "utils/file_utils.py": """
        import numpy as np
        import soundfile

        import _numpy_torch as torch


        def load_wav(wav, target_sr):
            speech, sample_rate = soundfile.read(wav, dtype="float32", always_2d=True)
            speech = speech.mean(axis=1)
            if sample_rate != target_sr:
                n = int(len(speech) * target_sr / sample_rate)
                speech = np.interp(np.linspace(0, len(speech) - 1, n), np.arange(len(speech)), speech)
            return torch.tensor(speech[None].astype(np.float32))
    """,
    "utils/yaml_util.py": """
        import hashlib
        import json
        import os

        from _standin_calls import CALLS


        class _Flow:
            input_frame_rate = 25

            def __init__(self, weight):
                self.weight = weight


        def load_flow_model(flow_ckpt_path, config_path, device):
            CALLS["load_flow_model"] += 1
            with open(config_path) as f:
                f.read()
            with open(flow_ckpt_path, "rb") as f:
                weight = hashlib.sha256(f.read()).digest()[0] / 255.0
            return _Flow(weight)


        def load_speech_tokenizer(model_path):
            CALLS["load_speech_tokenizer"] += 1
            with open(os.path.join(model_path, "config.json")) as f:
                return json.load(f), {"sampling_rate": 16000}
    """,
    "utils/tts_model_util.py": """
        import numpy as np

        import _numpy_torch as torch
        from _standin_calls import FAULTS


        class Token2Wav:
            def __init__(self, flow, sample_rate=24000, device="cuda"):
                self.flow = flow
                self.device = device
                self.input_frame_rate = flow.input_frame_rate
                if sample_rate == 32000:
                    path = "ckpt/vocos2d/generator_jit.ckpt"
                elif sample_rate == 24000:
                    path = "ckpt/hift/hift.pt"
                else:
                    raise ValueError(f"Unsupported sample_rate: {sample_rate}")
                with open(path, "rb") as f:  # relative, as upstream's vocoder loaders
                    f.read()
                self.sample_rate = sample_rate

            def token2wav_with_cache(self, token_bt, n_timesteps=10, prompt_token=None, prompt_feat=None, embedding=None):
                if "flow" in FAULTS:
                    raise FAULTS.pop("flow")
                assert prompt_token.shape[1] != 0 and prompt_feat.shape[1] != 0
                hop = self.sample_rate // self.input_frame_rate
                pitch = 120.0 + 60.0 * float(np.abs(np.asarray(embedding)).mean() % 1.0)
                parts = []
                for token in token_bt:
                    t = np.arange(hop) / self.sample_rate
                    freq = pitch + (token % 97) + 10 * self.flow.weight
                    noise = np.random.uniform(-0.01, 0.01, hop)
                    parts.append(0.3 * np.sin(2 * np.pi * freq * t) + noise)
                wav = np.concatenate(parts).astype(np.float32)[None]
                return torch.tensor(wav), torch.tensor(np.zeros((1, 80, len(token_bt)), np.float32))
    """,
}
