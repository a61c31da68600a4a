"""The loaded upstream GLM-TTS models and the calls the adapter makes into them.

Imported only by GlmTtsEngine when a worker first synthesises. Upstream imports torch
and transformers at module level; this module takes them from upstream's namespace
(`glmtts_inference.torch`, `.LlamaForCausalLM`, ...) and never imports them itself.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

from synthesis.engines.base import EngineError
from synthesis.engines.glmtts.features import VoiceFeatures

SAMPLE_METHOD = "ras"
USE_HISTORY_CACHE = True


class Runtime:
    """The upstream models, loaded once per engine (that is, per worker process), as
    upstream's `load_models` does but from absolute paths and with the configured LLM
    dtype and device. Called only with the working directory set and the lock held."""

    def __init__(
        self,
        *,
        repo_dir: Path,
        ckpt_dir: Path,
        device: str,
        dtype: str,
        sample_rate: int,
    ) -> None:
        inference = _import_upstream(repo_dir)
        torch = inference.torch
        if device.startswith("cuda"):
            if not torch.cuda.is_available():
                raise EngineError(
                    "CUDA is not available on this worker", permanent=False
                )
            # Upstream calls .cuda() (the current device) in places: make it ours.
            if ":" in device:
                torch.cuda.set_device(torch.device(device))
        self.torch = torch
        self.device = device
        self.sample_rate = sample_rate
        self.generate_long = inference.generate_long

        speech_model, extractor = inference.yaml_util.load_speech_tokenizer(
            str(ckpt_dir / "speech_tokenizer")
        )
        speech_tokenizer = inference.SpeechTokenizer(speech_model, extractor)
        # G2P is loaded whatever use_phoneme says; the flag is given per call.
        self.frontend, self.text_frontend = inference.load_frontends(
            speech_tokenizer,
            sample_rate=sample_rate,
            use_phoneme=True,
            frontend_dir=str(repo_dir / "frontend"),
        )
        llm = inference.GLMTTS(
            llama_cfg_path=str(ckpt_dir / "llm" / "config.json"),
            mode="PRETRAIN",
            lora_adapter_config=str(
                repo_dir / "configs" / "lora_adapter_configV3.1.json"
            ),
            spk_prompt_dict_path=str(repo_dir / "configs" / "spk_prompt_dict.yaml"),
        )
        llm.llama = inference.LlamaForCausalLM.from_pretrained(
            str(ckpt_dir / "llm"), dtype=getattr(torch, dtype)
        ).to(device)
        llm.llama_embedding = llm.llama.model.embed_tokens
        llm.set_runtime_vars(
            special_token_ids=inference.get_special_token_ids(self.frontend.tokenize_fn)
        )
        self.llm = llm
        flow = inference.yaml_util.load_flow_model(
            str(ckpt_dir / "flow" / "flow.pt"),
            str(ckpt_dir / "flow" / "config.yaml"),
            device,
        )
        self.token2wav = inference.tts_model_util.Token2Wav(
            flow, sample_rate=sample_rate, device=device
        )

    def prepare_voice(self, audio_path: str, prompt_text: str) -> VoiceFeatures:
        frontend = self.frontend
        with self.torch.inference_mode():
            normalized = self.text_frontend.text_normalize(prompt_text) + " "
            tokens = frontend._extract_speech_token([audio_path])
            speech_feat = frontend._extract_speech_feat(
                audio_path, sample_rate=self.sample_rate
            )
            embedding = frontend._extract_spk_embedding(audio_path)
        return VoiceFeatures(
            prompt_text=normalized,
            speech_tokens=_numpy(tokens).reshape(-1).astype(np.int32),
            speech_feat=_numpy(speech_feat).astype(np.float32),
            embedding=_numpy(embedding).astype(np.float32),
        )

    def generate(
        self, text: str, features: VoiceFeatures, *, seed: int, use_phoneme: bool
    ) -> tuple[np.ndarray, list[int], dict]:
        torch = self.torch
        prompt_tokens = features.speech_tokens.tolist()
        with torch.inference_mode():
            # generate_long appends every chunk's text and generated tokens to this
            # dict: a fresh one per request, from copies of the cached features.
            history = {
                "cache_text": [features.prompt_text],
                "cache_text_token": [
                    self.frontend._extract_text_token(features.prompt_text)
                ],
                "cache_speech_token": [list(prompt_tokens)],
                "use_cache": USE_HISTORY_CACHE,
            }
            wav, _, tokens, chunks = self.generate_long(
                frontend=self.frontend,
                text_frontend=self.text_frontend,
                llm=self.llm,
                flow=self.token2wav,
                text_info=["", self.text_frontend.text_normalize(text)],
                cache=history,
                device=self.device,
                embedding=torch.tensor(features.embedding).to(self.device),
                seed=seed,
                sample_method=SAMPLE_METHOD,
                flow_prompt_token=torch.tensor([prompt_tokens], dtype=torch.int32).to(
                    self.device
                ),
                speech_feat=torch.tensor(features.speech_feat).to(self.device),
                use_phoneme=use_phoneme,
            )
        samples = _numpy(wav).reshape(-1).astype(np.float32)
        return samples, [int(t) for t in tokens], chunks

    def memory_reset(self) -> None:
        if self.torch.cuda.is_available():
            self.torch.cuda.reset_peak_memory_stats()

    def memory_peak(self) -> int | None:
        if self.torch.cuda.is_available():
            return int(self.torch.cuda.max_memory_allocated())
        return None

    def release_memory(self) -> None:
        if self.torch.cuda.is_available():
            self.torch.cuda.empty_cache()


def _import_upstream(repo_dir: Path):
    """glmtts_inference from `repo_dir`. Upstream's modules are top-level names
    (`utils`, `llm`, `flow`, `cosyvoice`), so one process hosts one checkout."""
    loaded = sys.modules.get("glmtts_inference")
    if loaded is not None:
        if Path(loaded.__file__).resolve().parent != repo_dir.resolve():
            raise EngineError(
                f"this process already runs GLM-TTS from "
                f"{Path(loaded.__file__).parent}, not {repo_dir}",
                permanent=False,
            )
        return loaded
    if str(repo_dir) not in sys.path:
        sys.path.insert(0, str(repo_dir))
    return importlib.import_module("glmtts_inference")


def _numpy(tensor) -> np.ndarray:
    if hasattr(tensor, "detach"):
        tensor = tensor.detach().cpu().numpy()
    return np.asarray(tensor)
