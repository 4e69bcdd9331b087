"""The model's own tokenizer, for exact prompt lengths and for counting tokens client-side."""

from __future__ import annotations

import ctypes
import hashlib
import json

from tokenfall.errors import TokenfallError
from tokenfall.types import ModelInfo


class LlamaTokenizer:
    """Tokenizer straight from a GGUF vocabulary through llama.cpp (a vocab-only load is cheap)."""

    def __init__(self, vocab, owner=None):
        import llama_cpp

        self._ll, self.vocab, self._owner = llama_cpp, vocab, owner

    def encode(self, text: str, special: bool = True, parse_special: bool = False) -> list[int]:
        """``special`` adds BOS/EOS as the model wants; ``parse_special`` reads markers such as
        <|im_start|> in the text as control tokens (only for templated text, never for user text)."""
        data = text.encode("utf-8")
        cap = len(data) + 16
        buf = (self._ll.llama_token * cap)()
        n = self._ll.llama_tokenize(self.vocab, data, len(data), buf, cap, special, parse_special)
        if n < 0:
            cap = -n
            buf = (self._ll.llama_token * cap)()
            n = self._ll.llama_tokenize(self.vocab, data, len(data), buf, cap, special, parse_special)
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self._ll.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._ll.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
        return buf.raw[:n]

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.piece(t) for t in ids).decode("utf-8", errors="replace")

    @property
    def n_vocab(self) -> int:
        return self._ll.llama_vocab_n_tokens(self.vocab)

    def is_eog(self, token: int) -> bool:
        return bool(self._ll.llama_vocab_is_eog(self.vocab, token))


class HFTokenizer:
    def __init__(self, tok):
        self.tok = tok

    def encode(self, text: str, special: bool = True) -> list[int]:
        return self.tok.encode(text, add_special_tokens=special)

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)

    @property
    def n_vocab(self) -> int:
        return len(self.tok)


def load(info: ModelInfo):
    """A tokenizer for a local model (GGUF or HF directory); remote models have none of their own."""
    if info.kind == "gguf":
        try:
            import llama_cpp
        except ImportError:
            raise TokenfallError("reading a GGUF tokenizer needs llama.cpp: pip install 'tokenfall[llamacpp]'") from None
        from tokenfall.models.llama import load_model

        model = load_model(info.path, vocab_only=True)
        return LlamaTokenizer(llama_cpp.llama_model_get_vocab(model), owner=model)
    if info.kind == "hf":
        try:
            from transformers import AutoTokenizer
        except ImportError:
            raise TokenfallError("reading an HF tokenizer needs transformers: pip install 'tokenfall[transformers]'") from None
        return HFTokenizer(AutoTokenizer.from_pretrained(info.path))
    raise TokenfallError(f"model '{info.ref}' is remote and has no local tokenizer; pass --tokenizer with a local model")


# Written for this check: prose, code, numbers, accents, CJK and emoji exercise most merge rules, so two
# tokenizers that agree on all of it (and on vocabulary size) agree in practice; works across backends.
PROBE = ("The 3 quick-brown foxes jumped over 1,024 lazy dogs; naïve café owners counted €12.50 each.\n"
         "def f(x):\n    return x ** 2  # square\n\tTabs, CAPS, camelCase, snake_case, 0x1F, 3.14159e-7\n"
         "東京で会いましょう。 Привет, мир! مرحبا 🙂🚀 <tag attr=\"v\">…</tag> ''quotes'' and \"quotes\"")


def vocab_digest(tokenizer) -> str:
    """Identity of a tokenizer for comparisons: vocabulary size and the encoding of PROBE."""
    return hashlib.sha256(json.dumps([tokenizer.n_vocab, tokenizer.encode(PROBE, special=False)]).encode()).hexdigest()
