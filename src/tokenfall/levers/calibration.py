"""Calibration: the text a lever measures importance on, run through the torch model window by window.
Depth, width and sparsity pruning all score weights by what they do to real activations."""

from __future__ import annotations

from typing import Callable, Iterator

from tokenfall.errors import TokenfallError
from tokenfall.workloads.texts import OPENINGS, from_files


def calibration_text(files: str | list[str] | None) -> str:
    """The user's files, or tokenfall's built-in openings (no dataset needed)."""
    if not files:
        return "\n\n".join(OPENINGS)
    return from_files([files] if isinstance(files, str) else list(files))


def windows(tok, text: str, ctx: int = 512, min_tokens: int = 16) -> Iterator:
    """The text's token ids as (1, ≤ctx) tensors."""
    import torch

    ids = tok.encode(text, add_special_tokens=False)
    if len(ids) < min_tokens:
        raise TokenfallError(f"calibration text has {len(ids)} tokens; give at least a paragraph")
    for start in range(0, len(ids), ctx):
        yield torch.tensor([ids[start:start + ctx]])


def run(hf, tok, text: str, hooks: dict, ctx: int = 512, each: Callable | None = None) -> int:
    """Run ``text`` through ``hf`` with forward-pre hooks ``{module: fn(module, inputs)}`` installed;
    ``each(window, output)`` sees every window's output. Returns the number of tokens seen."""
    import torch

    def observe(fn):
        def hook(module, inputs):
            fn(module, inputs)  # and return None: a pre-hook's return value would replace the module's input
        return hook

    handles = [m.register_forward_pre_hook(observe(fn)) for m, fn in hooks.items()]
    n = 0
    try:
        with torch.inference_mode():
            for window in windows(tok, text, ctx):
                out = hf(window, output_hidden_states=each is not None)
                if each is not None:
                    each(window, out)
                n += window.shape[1]
    finally:
        for h in handles:
            h.remove()
    return n


def input_square_sums(hf, tok, text: str, modules) -> tuple[dict, int]:
    """Per module, the sum over calibration tokens of its input squared, per input column (Wanda's ‖X‖²,
    llama.cpp's imatrix before dividing by the count), and the number of tokens."""
    import torch

    sums = {m: torch.zeros(m.in_features, dtype=torch.float64) for m in modules}

    def hook(m, inputs):
        sums[m].add_(inputs[0].double().pow(2).sum((0, 1)))

    return sums, run(hf, tok, text, dict.fromkeys(sums, hook))
