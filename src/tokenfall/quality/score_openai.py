"""Log-likelihood of choices from an OpenAI-compatible server: /v1/completions with ``echo`` and
``logprobs`` returns the prompt tokens' log-probabilities (vLLM does; llama-cpp-python's server with
``--logits_all True``). Choice tasks only — a server gives at most the top few log-probabilities per
token, not the full distribution fidelity compares."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from tokenfall.errors import TokenfallError
from tokenfall.types import ModelInfo


class OpenAIScorer:
    full_logits = False

    def __init__(self, model: ModelInfo, api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 300.0, parallel: int = 8):
        import httpx

        if model.kind != "remote":
            raise TokenfallError(f"scoring through 'openai' needs a server URL as the model (got '{model.ref}')")
        key = os.environ.get(api_key_env)
        self.model, self.parallel = model, parallel
        self._http = httpx.Client(base_url=model.base_url.rstrip("/") + "/", timeout=timeout_s,
                                  headers={"Authorization": f"Bearer {key}"} if key else {})

    def _one(self, context: str, continuation: str) -> tuple[float, bool]:
        import httpx

        stripped = context.rstrip(" ")
        continuation, context = context[len(stripped):] + continuation, stripped
        try:
            r = self._http.post("completions", json={"model": self.model.name, "prompt": context + continuation, "max_tokens": 1,
                                                     "echo": True, "logprobs": 1, "temperature": 0})
            r.raise_for_status()
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise TokenfallError(f"server {self.model.base_url} did not score a prompt ({type(e).__name__}: {str(e)[:160]})") from e
        lp = (body.get("choices") or [{}])[0].get("logprobs") or {}
        offsets, values, tokens, top = lp.get("text_offset"), lp.get("token_logprobs"), lp.get("tokens"), lp.get("top_logprobs")
        n_prompt = (body.get("usage") or {}).get("prompt_tokens")
        if not offsets or not values or n_prompt is None:
            raise TokenfallError(f"server {self.model.base_url} returned no prompt log-probabilities for echo=true; "
                                 "vLLM supports it, llama-cpp-python's server needs --logits_all True")
        idx = [i for i in range(min(n_prompt, len(values))) if offsets[i] >= len(context)]
        if not idx or any(values[i] is None for i in idx):
            raise TokenfallError(f"server {self.model.base_url} gave no log-probability for the continuation {continuation[:30]!r}")
        greedy = bool(top) and all(top[i] and max(top[i], key=top[i].get) == tokens[i] for i in idx)
        return float(sum(values[i] for i in idx)), greedy

    def loglik_text(self, items: list[tuple[str, list[str]]]) -> list[list[tuple[float, bool]]]:
        with ThreadPoolExecutor(self.parallel) as pool:
            futures = [[pool.submit(self._one, ctx, c) for c in conts] for ctx, conts in items]
            return [[f.result() for f in fs] for fs in futures]

    def close(self) -> None:
        self._http.close()
