"""A small stand-in of the GLM-TTS checkout and its weights, written into a temporary
directory by the tests (the real model needs CUDA and ~9 GB of weights).

It has upstream's module tree and the names and signatures the adapter calls
(glmtts_inference, cosyvoice.cli.frontend, llm.glmtts, utils.*), reads the same files
relative to the working directory as upstream does (ckpt/hift/hift.pt,
ckpt/vq32k-phoneme-tokenizer, ./configs/custom_replace.jsonl), mutates the history dict
as generate_long does, and computes deterministic numpy audio from the tokens, the
prompt features and the seed. Its torch is a numpy module, so no torch is needed.
`_standin_calls` counts the calls and lets a test inject upstream failures.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.support.glmtts_standin_support import SUPPORT_FILES

FILES = {
    **SUPPORT_FILES,
    "cosyvoice/__init__.py": "",
    "cosyvoice/cli/__init__.py": "",
    "cosyvoice/cli/frontend.py": """
        import json
        import os
        import re

        import numpy as np
        import soundfile

        import _numpy_torch as torch
        from _standin_calls import CALLS
        from utils.file_utils import load_wav


        class SpeechTokenizer:
            def __init__(self, model, feature_extractor):
                self.model = model
                self.feature_extractor = feature_extractor

            def extract_speech_token(self, utts):
                result = []
                for utt in utts:
                    audio, sample_rate = soundfile.read(utt, dtype="float32", always_2d=True)
                    audio = audio[:, 0]
                    hop = sample_rate // 25
                    frames = audio[: len(audio) // hop * hop].reshape(-1, hop)
                    rms = np.sqrt(np.mean(frames**2, axis=1))
                    result.append([int(r * 100000) % 32768 for r in rms if r > 1e-3])
                return result


        class TextFrontEnd:
            def __init__(self, use_phoneme=False):
                self.use_phoneme = use_phoneme

            def text_normalize(self, text):
                CALLS["text_normalize"] += 1
                custom_replace_path = "./configs/custom_replace.jsonl"
                if os.path.exists(custom_replace_path):
                    with open(custom_replace_path, encoding="utf-8") as f:
                        for line in f:
                            line = json.loads(line)
                            text = text.replace(line["origin"], line["new"])
                text = " ".join(text.lower().split())
                return text if text.endswith((".", "!", "?")) else text + "."

            def split_by_len(self, text, min_text_len=30, max_text_len=60):
                chunks, current = [], ""
                for sentence in re.findall(r"[^.!?]+[.!?]?", text):
                    if current and len(current) + len(sentence) > max_text_len:
                        chunks.append(current.strip())
                        current = ""
                    current += sentence
                if current.strip():
                    chunks.append(current.strip())
                return chunks

            def g2p_infer(self, text):
                return text.upper()


        class TTSFrontEnd:
            def __init__(self, tokenize_fn, speech_tokenizer, feat_extractor, campplus_model, spk2info="", device=None):
                with open(campplus_model, "rb") as f:
                    f.read()
                self.tokenize_fn = tokenize_fn
                self.speech_tokenizer = speech_tokenizer
                self.feat_extractor = feat_extractor
                self.device = device

            def _extract_text_token(self, text):
                return torch.tensor([self.tokenize_fn(text)], dtype=torch.int32)

            def _extract_speech_token(self, path_or_tuple):
                CALLS["extract_speech_token"] += 1
                return torch.tensor(self.speech_tokenizer.extract_speech_token(path_or_tuple))

            def _extract_spk_embedding(self, speech):
                CALLS["extract_spk_embedding"] += 1
                wav = np.asarray(load_wav(speech, 16000))[0]
                bands = np.array_split(np.abs(np.fft.rfft(wav)), 192)
                return torch.tensor(np.array([[b.mean() for b in bands]], np.float32))

            def _extract_speech_feat(self, speech, sample_rate=24000):
                CALLS["extract_speech_feat"] += 1
                speech = load_wav(speech, sample_rate)
                feat = np.asarray(self.feat_extractor(speech))[0].T
                return torch.tensor(feat[None])
    """,
    "llm/glmtts.py": """
        import json

        import numpy as np

        import _numpy_torch as torch
        from _standin_calls import FAULTS


        class GLMTTS:
            def __init__(self, llama_cfg_path, mode="PRETRAIN", lora_adapter_config="configs/lora_adapter_configV3.1.json", spk_prompt_dict_path="configs/spk_prompt_dict.yaml"):
                with open(spk_prompt_dict_path, encoding="utf-8") as f:
                    f.read()
                with open(llama_cfg_path) as f:
                    self.config = json.load(f)
                self.mode = mode
                self.llama = None

            def set_runtime_vars(self, special_token_ids):
                self.special_token_ids = special_token_ids

            def inference(self, text, text_len, prompt_text, prompt_text_len, prompt_speech_token, prompt_speech_token_len, beam_size=1, sampling=25, max_token_text_ratio=20, min_token_text_ratio=2, sample_method="ras", spk="tongtong"):
                if "llm" in FAULTS:
                    raise FAULTS.pop("llm")
                if sample_method not in ("ras", "topk"):
                    raise ValueError(f"Unknown sample_method: {sample_method}")
                count = int(text_len[0]) * 4
                context = int(np.asarray(prompt_speech_token).sum() + np.asarray(prompt_text).sum())
                drawn = np.random.randint(0, 32768, count)
                return torch.tensor([(drawn + context) % 32768], dtype=torch.int64)
    """,
    "glmtts_inference.py": """
        import os
        from functools import partial

        import _numpy_torch as torch
        from _standin_calls import HISTORY
        from _standin_transformers import AutoTokenizer, LlamaForCausalLM
        from cosyvoice.cli.frontend import SpeechTokenizer, TextFrontEnd, TTSFrontEnd
        from llm.glmtts import GLMTTS
        from utils import file_utils, seed_util, tts_model_util, yaml_util
        from utils.audio import mel_spectrogram

        DEVICE = torch.device("cpu")
        MAX_LLM_SEQ_INP_LEN = 750


        def get_special_token_ids(tokenize_fn):
            names = {"ats": "<|audio_0|>", "ate": "<|audio_32767|>", "boa": "<|begin_of_audio|>", "eoa": "<|user|>", "pad": "<|endoftext|>"}
            return {k: tokenize_fn(v)[0] for k, v in names.items()}


        def load_frontends(speech_tokenizer, sample_rate=24000, use_phoneme=False, frontend_dir="frontend"):
            if sample_rate == 32000:
                feat_extractor = partial(mel_spectrogram, sampling_rate=sample_rate, hop_size=640, n_fft=2560, num_mels=80, win_size=2560, fmin=0, fmax=8000, center=False)
            elif sample_rate == 24000:
                feat_extractor = partial(mel_spectrogram, sampling_rate=sample_rate, hop_size=480, n_fft=1920, num_mels=80, win_size=1920, fmin=0, fmax=8000, center=False)
            else:
                raise ValueError(f"Unsupported sampling_rate: {sample_rate}")
            glm_tokenizer = AutoTokenizer.from_pretrained(os.path.join("ckpt", "vq32k-phoneme-tokenizer"), trust_remote_code=True)
            tokenize_fn = lambda text: glm_tokenizer.encode(text)  # noqa: E731
            frontend = TTSFrontEnd(tokenize_fn, speech_tokenizer, feat_extractor, os.path.join(frontend_dir, "campplus.onnx"), os.path.join(frontend_dir, "spk2info.pt"), DEVICE)
            return frontend, TextFrontEnd(use_phoneme)


        def generate_long(frontend, text_frontend, llm, flow, text_info, cache, device, embedding, seed=0, sample_method="ras", flow_prompt_token=None, speech_feat=None, local_llm_forward=None, local_flow_forward=None, use_phoneme=False):
            HISTORY.append({k: list(v) if isinstance(v, list) else v for k, v in cache.items()})
            outputs, tokens = [], []
            text_tn_dict = {"uttid": text_info[0], "syn_text": text_info[1], "syn_text_tn": [], "syn_text_phoneme": []}
            for tts_text in text_frontend.split_by_len(text_info[1]):
                seed_util.set_seed(seed)
                tts_text_tn = text_frontend.text_normalize(tts_text)
                text_tn_dict["syn_text_tn"].append(tts_text_tn)
                if use_phoneme:
                    tts_text_tn = text_frontend.g2p_infer(tts_text_tn)
                    text_tn_dict["syn_text_phoneme"].append(tts_text_tn)
                tts_text_token = frontend._extract_text_token(tts_text_tn)
                if cache["use_cache"] and len(cache["cache_text_token"]) > 1:
                    prompt_text_token = torch.tensor([[t for x in cache["cache_text_token"] for t in x.reshape(-1).tolist()]])
                    prompt_speech_token = torch.tensor([[t for x in cache["cache_speech_token"] for t in x]], dtype=torch.int32)
                else:
                    prompt_text_token = cache["cache_text_token"][0]
                    prompt_speech_token = torch.tensor([cache["cache_speech_token"][0]], dtype=torch.int32)
                result = llm.inference(
                    text=tts_text_token, text_len=torch.tensor([tts_text_token.shape[1]]),
                    prompt_text=prompt_text_token, prompt_text_len=torch.tensor([prompt_text_token.shape[1]]),
                    prompt_speech_token=prompt_speech_token, prompt_speech_token_len=torch.tensor([prompt_speech_token.shape[1]]),
                    sample_method=sample_method,
                )[0].tolist()
                tokens.extend(result)
                wav, _ = flow.token2wav_with_cache(result, prompt_token=flow_prompt_token, prompt_feat=speech_feat, embedding=embedding)
                cache["cache_text"].append(tts_text_tn)
                cache["cache_text_token"].append(tts_text_token)
                cache["cache_speech_token"].append(result)
                outputs.append(wav.numpy())
            import numpy as np

            return torch.tensor(np.concatenate(outputs, axis=1)), None, tokens, text_tn_dict
    """,
    "configs/custom_replace.jsonl": '{"origin": "colour", "new": "color"}\n',
    "configs/spk_prompt_dict.yaml": "tongtong: [1, 2, 3]\n",
    "configs/lora_adapter_configV3.1.json": '{"r": 8}\n',
    "frontend/campplus.onnx": "campplus stand-in weights\n",
}

SPECIAL_TOKENS = {
    "<|endoftext|>": 59246,
    "<|audio_0|>": 59260,
    "<|audio_32767|>": 92027,
    "<|begin_of_audio|>": 59250,
    "<|user|>": 59253,
}

CHECKPOINTS = {
    "llm/config.json": json.dumps({"hidden_size": 2048, "num_hidden_layers": 28}),
    "llm/model-00001-of-00002.safetensors": "llm weights, part one\n",
    "llm/model-00002-of-00002.safetensors": "llm weights, part two\n",
    "flow/flow.pt": "flow weights\n",
    "flow/config.yaml": "flow: !new:flow.flow.Flow\n",
    "hift/hift.pt": "hift weights\n",
    "vocos2d/generator_jit.ckpt": "vocos weights\n",
    "speech_tokenizer/config.json": json.dumps({"quantize_position": 16}),
    "vq32k-phoneme-tokenizer/tokenizer.json": json.dumps({"special": SPECIAL_TOKENS}),
    # What `huggingface-cli download --local-dir` leaves behind: not part of the build.
    ".cache/huggingface/download/llm/config.json.metadata": "0123abcd\netag\n1.0\n",
}


def build(root: Path) -> tuple[Path, Path]:
    """Writes the checkout to root/GLM-TTS and the weights to root/weights (outside the
    checkout, as GLMTTS_CKPT_DIR may be); returns both paths."""
    repo, ckpt = root / "GLM-TTS", root / "weights"
    for base, files in ((repo, FILES), (ckpt, CHECKPOINTS)):
        for name, text in files.items():
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
    return repo, ckpt
