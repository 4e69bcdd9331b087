"""In-process llama.cpp with real continuous batching.

One scheduler thread owns the llama context. Each step it packs one token per decoding sequence plus
bounded chunks of pending prompts into a single multi-sequence ``llama_batch``, calls ``llama_decode``
once, and samples every sequence that produced logits with its own C ``llama_sampler`` chain. New
requests join between steps; prompts longer than ``prefill_chunk`` are split across steps so running
decodes are never stalled for a whole long prompt. ctypes releases the GIL during ``llama_decode``,
so the asyncio side keeps streaming while the model computes.

Two serving levers live in the scheduler. The prefix cache keeps up to ``prefix_cache`` prompts' KV in
spare sequence slots; a new prompt sharing at least ``prefix_min`` leading tokens with one starts from a
copy of it and prefills only the rest. Prompt-lookup speculation drafts up to ``n_draft`` tokens for a
greedy request by finding the latest earlier occurrence of its last ``ngram`` tokens in its own prompt and
output, verifies them in the same ``llama_decode`` and keeps the longest prefix greedy decoding agrees
with, so the text is the text plain decoding writes.
"""

from __future__ import annotations

import asyncio
import codecs
import ctypes
import heapq
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import AsyncIterator, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tokenfall.engines import Engine
from tokenfall.errors import EngineError, TokenfallError
from tokenfall.models.llama import KV_TYPES, check_memory, load_model, model_buffers
from tokenfall.models.tokenizers import LlamaTokenizer
from tokenfall.types import Chunk, EngineInfo, ModelInfo, Request


@dataclass
class _Seq:
    req: Request
    out: asyncio.Queue
    tokens: list[int]
    seq_id: int = -1
    n_past: int = 0          # prompt tokens already in the KV cache
    last: int = -1           # last sampled token, fed at the next step
    n_gen: int = 0
    sampler: object = None
    cancelled: bool = False
    gen: list[int] = field(default_factory=list)  # tokens generated so far (prompt lookup searches them too)
    drafts: list[int] = field(default_factory=list)  # tokens proposed this step, after ``last``
    cached: int = 0       # prompt tokens copied from the prefix cache
    store: bool = False   # keep this prompt's KV in the prefix cache once prefilled
    n_drafted: int = 0
    n_accepted: int = 0
    followers: list = field(default_factory=list)  # identical prompts waiting for this one's prefill (share_prompts)
    utf8: object = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))

    @property
    def prefilling(self) -> bool:
        return self.n_past < len(self.tokens)


@dataclass
class _Cached:
    slot: int  # the sequence id whose KV stream holds the prompt
    tokens: list[int] = field(default_factory=list)
    used: int = -1  # scheduler step of the last store or hit (least recently used goes first)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class LlamaCppEngine(Engine):
    name: ClassVar[str] = "llamacpp"
    requires: ClassVar = (("llama_cpp", "llamacpp"),)

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        seq_ctx: int = Field(1024, ge=32, le=1 << 20, description="KV cells per sequence (prompt + output)")
        n_batch: int = Field(512, ge=1, le=1 << 16, description="max tokens per llama_decode step")
        parallel: int = Field(32, ge=1, le=256, description="max sequences decoding at once")
        prefill_chunk: int = Field(256, ge=1, description="max prompt tokens of one request per step")
        n_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="llama.cpp compute threads")
        kv_type: Literal["f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"] = Field("f16", description="KV cache type (quantized types need flash attention)")
        flash_attn: bool | None = Field(None, description="None lets llama.cpp decide")
        n_gpu_layers: int = Field(0, ge=-1, description="layers to offload to a GPU build (-1 = all)")
        prefix_cache: int = Field(0, ge=0, le=64, description="prompts kept in the KV cache for reuse by later prompts (0 = off)")
        prefix_min: int = Field(8, ge=1, description="shortest shared prefix, in tokens, worth copying")
        speculative: Literal["none", "prompt-lookup"] = Field("none", description="draft tokens for greedy requests and verify them in one step")
        n_draft: int = Field(4, ge=1, le=16, description="max draft tokens per sequence per step")
        ngram: int = Field(3, ge=1, le=8, description="prompt lookup: tokens matched to find a draft")
        share_prompts: bool = Field(False, description="requests with an identical prompt admitted while it is prefilled copy its "
                                                       "KV and sample from its logits instead of prefilling it again")

        @model_validator(mode="after")
        def _fits(self):
            if self.parallel + self.prefix_cache > 256:
                raise ValueError(f"parallel={self.parallel} + prefix_cache={self.prefix_cache} exceeds llama.cpp's 256 sequences")
            if self.parallel > self.n_batch:
                raise ValueError(f"parallel={self.parallel} exceeds n_batch={self.n_batch}: every decoding sequence needs a batch slot")
            if self.kv_type not in ("f16", "f32") and self.flash_attn is False:
                raise ValueError(f"kv_type={self.kv_type} (quantized V cache) needs flash attention; drop flash_attn=false")
            return self

    def __init__(self, model: ModelInfo, options: Options):
        if model.kind != "gguf":
            raise TokenfallError(f"engine 'llamacpp' needs a GGUF model, got {model.kind} '{model.ref}'; use --engine transformers or openai")
        self.model_info, self.opts = model, options
        check_memory(model, options.seq_ctx, options.parallel + options.prefix_cache, options.kv_type)
        self.tokenizer: LlamaTokenizer | None = None
        self._pending: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._busy = [0.0, 0.0]  # llama_decode seconds spent on prompt tokens, on decoded tokens
        self.prefilled = 0  # prompt tokens computed (not copied from a cache or a shared prompt) since start
        self._model = None
        # request id -> [(token, float16 logits it was chosen from)] for the ids set up in it: how quality.served
        # grades the served path (every emitted token's full distribution, at the serving settings)
        self.capture: dict[int, list] = {}

    def busy(self) -> tuple[float, float]:
        """Seconds of llama_decode spent on prefill and on decode so far. A step holding both is split by
        its token counts: under continuous batching one step serves both, and charging it whole to the
        requests that were decoding would bill other requests' prompts to output tokens."""
        return self._busy[0], self._busy[1]

    def info(self) -> EngineInfo:
        import llama_cpp

        return EngineInfo(name=self.name, version=f"llama-cpp-python {llama_cpp.__version__}",
                          options=self.opts.model_dump(), model=self.model_info,
                          buffers=model_buffers(self._model) if self._model else {})

    async def start(self) -> None:
        import llama_cpp as ll

        self._ll = ll
        self._model = await asyncio.to_thread(load_model, self.model_info.path, self.opts.n_gpu_layers)
        cp = ll.llama_context_default_params()
        o = self.opts
        n_seq = o.parallel + o.prefix_cache  # cached prefixes live in spare sequence slots
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = o.seq_ctx * n_seq, o.n_batch, o.n_batch, n_seq
        cp.n_threads = cp.n_threads_batch = o.n_threads
        cp.type_k = cp.type_v = KV_TYPES[o.kv_type]
        # One KV stream per sequence: a sequence's cells always start at 0, as they do when it runs alone.
        # A unified cache places sequences at varying cell offsets, which changes SIMD summation order in
        # attention and made batched greedy output drift from single-sequence output (measured).
        cp.kv_unified = False
        cp.no_perf = True
        cp.flash_attn_type = {None: -1, False: 0, True: 1}[o.flash_attn]
        self._ctx = ll.llama_init_from_model(self._model, cp)
        if not self._ctx:
            raise TokenfallError(f"llama.cpp could not create a context (seq_ctx={o.seq_ctx} x parallel={o.parallel}); lower them")
        self._mem = ll.llama_get_memory(self._ctx)
        self.tokenizer = LlamaTokenizer(ll.llama_model_get_vocab(self._model))
        self._batch = ll.llama_batch_init(o.n_batch, 0, 1)
        self._stop.clear()
        self._aloop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._loop, name="llamacpp-scheduler", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._pending.put(None)
        await asyncio.to_thread(self._thread.join)
        self._thread = None
        ll = self._ll
        ll.llama_batch_free(self._batch)
        ll.llama_free(self._ctx)
        ll.llama_model_free(self._model)

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        if self._thread is None:
            raise RuntimeError("engine not started")
        if request.chat:
            tokens = self.tokenizer.encode(self._chat(request.prompt), parse_special=True)
        else:
            tokens = request.prompt_tokens if request.prompt_tokens is not None else self.tokenizer.encode(request.prompt)
        if not tokens:
            raise EngineError("empty_prompt", "prompt has no tokens")
        if len(tokens) + request.max_tokens > self.opts.seq_ctx:
            raise EngineError("context_overflow", f"{len(tokens)} prompt + {request.max_tokens} output tokens exceed seq_ctx={self.opts.seq_ctx}")
        seq = _Seq(req=request, out=asyncio.Queue(), tokens=list(tokens))
        self._pending.put(seq)
        try:
            while True:
                item = await seq.out.get()
                if isinstance(item, Exception):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            seq.cancelled = True  # consumer gone (timeout, cancel): the scheduler frees the slot

    def _chat(self, text: str) -> str:
        """One user turn through the model's own chat template (from the GGUF), ready for the reply."""
        ll = self._ll
        tmpl = ll.llama_model_chat_template(self._model, None)
        if not tmpl:
            raise EngineError("no_chat_template", "this GGUF has no chat template; send plain prompts")
        msg = (ll.llama_chat_message * 1)(ll.llama_chat_message(b"user", text.encode()))
        cap = 4 * len(text) + 256
        buf = ctypes.create_string_buffer(cap)
        n = ll.llama_chat_apply_template(tmpl, msg, 1, True, buf, cap)
        if n > cap:
            buf = ctypes.create_string_buffer(n)
            n = ll.llama_chat_apply_template(tmpl, msg, 1, True, buf, n)
        if n < 0:
            raise EngineError("chat_template_failed", "llama.cpp could not apply the model's chat template")
        return buf.raw[:n].decode("utf-8", errors="replace")

    # ---- scheduler thread -------------------------------------------------------------------

    def _deliver(self, items: list[tuple[_Seq, Chunk | Exception]]) -> None:
        """Hand a step's chunks to the event loop and wait (bounded) until consumers have taken them.

        On a machine with as many cores as llama.cpp threads, an asyncio thread that wakes *during*
        llama_decode preempts a compute thread and stalls the whole step (single-stream decode ran at
        ~70% of a bare loop, measured). Consuming between steps costs tens of microseconds instead."""
        done = threading.Event()

        def put_all():
            for seq, item in items:
                seq.out.put_nowait(item)
            self._aloop.call_soon(done.set)  # runs after the woken consumers' steps (FIFO callbacks)

        self._aloop.call_soon_threadsafe(put_all)
        done.wait(0.02)

    def _new_sampler(self, req: Request):
        ll = self._ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if req.temperature <= 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
        else:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(40))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(req.top_p, 1))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(req.temperature))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(req.seed & 0xFFFFFFFF))
        return chain

    def _release(self, seq: _Seq, free_ids: list[int]) -> None:
        ll = self._ll
        ll.llama_memory_seq_rm(self._mem, seq.seq_id, -1, -1)
        if seq.sampler:
            ll.llama_sampler_free(seq.sampler)
            seq.sampler = None
        heapq.heappush(free_ids, seq.seq_id)

    def _loop(self) -> None:
        ll, o, b = self._ll, self.opts, self._batch
        free_ids = list(range(o.parallel))  # a heap: the lowest free id first
        waiting: deque[_Seq] = deque()
        active: list[_Seq] = []
        cache: list[_Cached] = [_Cached(slot=o.parallel + i) for i in range(o.prefix_cache)]
        leaders: dict[tuple, _Seq] = {}  # prompt -> the sequence prefilling it (share_prompts)
        step = 0
        while not self._stop.is_set():
            step += 1
            # take in everything submitted since the last step; block only when idle
            try:
                while (item := self._pending.get(block=not active and not waiting)) is not None:
                    waiting.append(item)
            except queue.Empty:
                pass
            if self._stop.is_set():
                break
            while waiting and free_ids:
                seq = waiting.popleft()
                if not seq.cancelled:
                    seq.seq_id, seq.sampler = heapq.heappop(free_ids), self._new_sampler(seq.req)
                    key = tuple(seq.tokens) if o.share_prompts else None
                    if key in leaders:  # the same prompt is being prefilled: fork from it when it is done
                        leaders[key].followers.append(seq)
                        continue
                    if o.prefix_cache:
                        self._reuse_prefix(seq, cache, step)
                    active.append(seq)
                    if key is not None:
                        leaders[key] = seq
            # llama_decode ran 2x slower per step when a batch's sequence ids were out of order (measured)
            active.sort(key=lambda s: s.seq_id)
            for seq in [s for s in active if s.cancelled]:
                active.remove(seq)
                if leaders.get(tuple(seq.tokens)) is seq:  # its followers prefill for themselves
                    del leaders[tuple(seq.tokens)]
                    active.extend(seq.followers)
                    seq.followers = []
                self._release(seq, free_ids)
            if not active:
                continue
            n, owners = self._compose(active, b)
            n_dec = sum(1 + len(sq.drafts) for sq, _ in owners if sq.n_gen > 0)
            t_step = time.monotonic()
            rc = ll.llama_decode(self._ctx, b)
            dt = time.monotonic() - t_step
            self._busy[0] += dt * (n - n_dec) / n
            self._busy[1] += dt * n_dec / n
            if rc != 0:
                err = EngineError("decode_failed", f"llama_decode returned {rc}")
                failed = active + [f for seq in active for f in seq.followers]
                self._deliver([(seq, err) for seq in failed])
                for seq in failed:
                    self._release(seq, free_ids)
                active.clear()
                leaders.clear()
                continue
            now = time.monotonic()
            out: list[tuple[_Seq, Chunk]] = []
            for seq, idx in owners:
                if seq.store and not seq.prefilling and seq.n_gen == 0:
                    self._store_prefix(seq, cache, step)
                forks = self._fork(seq, leaders, free_ids) if seq.n_gen == 0 else []
                for s_ in [seq, *forks]:  # followers sample their first token from the leader's prompt logits
                    chunk = self._collect(s_, idx, now)
                    out.append((s_, chunk))
                    if s_ is not seq and not chunk.finish_reason:
                        active.append(s_)
                    if chunk.finish_reason:
                        if s_ is seq:
                            active.remove(seq)
                        self._release(s_, free_ids)
            self._deliver(out)
        parked = [f for seq in active for f in seq.followers]
        self._deliver([(seq, EngineError("engine_stopped", "engine stopped")) for seq in active + parked + list(waiting)])
        for seq in active + parked:
            self._release(seq, free_ids)

    def _compose(self, active: list[_Seq], b) -> tuple[int, list[tuple[_Seq, int]]]:
        """One batch in seq-id order: one token (plus drafts) per decoding sequence, then bounded prompt chunks in
        the room left, so decoders are never starved by a long prompt. Returns the token count and, per sequence
        whose logits are read this step, its batch index."""
        o = self.opts
        room = o.n_batch - sum(1 for s in active if not s.prefilling)
        n, owners = 0, []
        for seq in active:
            if not seq.prefilling:
                pos = len(seq.tokens) + seq.n_gen - 1
                seq.drafts = self._draft(seq, room) if o.speculative != "none" and seq.req.temperature <= 0 else []
                room -= len(seq.drafts)
                owners.append((seq, n))
                for k, tok in enumerate([seq.last] + seq.drafts):
                    self._put(b, n, tok, pos + k, seq.seq_id, True)
                    n += 1
            elif room > 0:
                take = min(len(seq.tokens) - seq.n_past, o.prefill_chunk, room)
                for p in range(seq.n_past, seq.n_past + take):
                    last = p == len(seq.tokens) - 1
                    self._put(b, n, seq.tokens[p], p, seq.seq_id, last)
                    if last:
                        owners.append((seq, n))
                    n += 1
                seq.n_past += take
                self.prefilled += take
                room -= take
        b.n_tokens = n
        return n, owners

    def _collect(self, seq: _Seq, idx: int, now: float) -> Chunk:
        """The tokens one sequence gained this step (a sampled one, or accepted drafts), as a chunk; its finish
        reason is set when it stopped (end of generation unless ignored, or max_tokens)."""
        text, finish, emitted, logprob = "", None, 0, 0.0
        for tok, lp in self._accept(seq, idx):
            logprob += lp
            emitted += 1
            seq.n_gen += 1
            seq.last = tok
            seq.gen.append(tok)
            eog = self.tokenizer.is_eog(tok)
            text += "" if eog else seq.utf8.decode(self.tokenizer.piece(tok))
            if eog and not seq.req.ignore_eos:
                finish = "stop"
            elif seq.n_gen >= seq.req.max_tokens:
                finish = "length"
            if finish:
                break
        if finish:
            text += seq.utf8.decode(b"", final=True)
        elif seq.drafts:  # drop the rejected drafts' KV cells; the next step feeds seq.last
            self._ll.llama_memory_seq_rm(self._mem, seq.seq_id, len(seq.tokens) + seq.n_gen - 1, -1)
        end = dict(prompt_tokens=len(seq.tokens), completion_tokens=seq.n_gen, cached_tokens=seq.cached,
                   draft_tokens=seq.n_drafted, draft_accepted=seq.n_accepted) if finish else {}
        return Chunk(t=now, text=text, n_tokens=emitted, finish_reason=finish, logprob=logprob if seq.req.logprobs else None, **end)

    def _fork(self, seq: _Seq, leaders: dict, free_ids: list[int]) -> list[_Seq]:
        """``seq`` just finished its prompt: give each live follower a copy of its KV (the prompt, prefilled once)."""
        if leaders.get(tuple(seq.tokens)) is not seq:
            return []
        del leaders[tuple(seq.tokens)]
        live = []
        for f in seq.followers:
            if f.cancelled:
                self._release(f, free_ids)
                continue
            self._ll.llama_memory_seq_cp(self._mem, seq.seq_id, f.seq_id, -1, -1)
            f.n_past = f.cached = len(f.tokens)
            live.append(f)
        seq.followers = []
        return live

    def _draft(self, seq: _Seq, room: int) -> list[int]:
        """Prompt lookup: the tokens that followed the latest earlier occurrence of the sequence's last
        ``ngram`` tokens, capped by the batch room and by the tokens still to generate."""
        o = self.opts
        k = min(o.n_draft, room, seq.req.max_tokens - seq.n_gen - 1, self.opts.seq_ctx - len(seq.tokens) - seq.n_gen)
        hist = seq.tokens + seq.gen
        if k <= 0 or len(hist) <= o.ngram:
            return []
        tail = hist[-o.ngram:]
        for start in range(len(hist) - o.ngram - 1, -1, -1):
            if hist[start:start + o.ngram] == tail:
                return hist[start + o.ngram:start + o.ngram + k]
        return []

    def _accept(self, seq: _Seq, idx: int):
        """Greedy verification: yield the sampled token at each position (with its log-probability under the
        model when asked) while it matches the draft before it; the first mismatch is still the token plain
        decoding would write."""
        ll = self._ll
        seq.n_drafted += len(seq.drafts)
        kept = self.capture.get(seq.req.id)
        for k in range(len(seq.drafts) + 1):
            tok = ll.llama_sampler_sample(seq.sampler, self._ctx, idx + k)
            lp = 0.0
            if kept is not None or seq.req.logprobs:
                row = np.ctypeslib.as_array(ll.llama_get_logits_ith(self._ctx, idx + k), shape=(self.tokenizer.n_vocab,))
                if kept is not None:
                    kept.append((tok, row.astype(np.float16)))
                if seq.req.logprobs:
                    top = row.max()
                    lp = float(row[tok] - top - np.log(np.exp(row - top).sum()))
            yield tok, lp
            if k == len(seq.drafts) or tok != seq.drafts[k]:
                return
            seq.n_accepted += 1

    def _reuse_prefix(self, seq: _Seq, cache: list[_Cached], step: int) -> None:
        """Start ``seq`` from the cached prompt sharing the longest prefix with it (at least prefix_min
        tokens; its last prompt token is always computed, for the logits). Across KV streams llama.cpp
        copies whole streams, so the copy is trimmed to the shared prefix afterwards. The prompt is stored
        once prefilled unless the hit covered all but fewer than prefix_min of its tokens."""
        ll, o = self._ll, self.opts
        best, shared = None, 0
        for c in cache:
            n = _common_prefix(c.tokens, seq.tokens)
            if n > shared:
                best, shared = c, n
        shared = min(shared, len(seq.tokens) - 1)
        if best is None or shared < o.prefix_min:
            seq.store = True
            return
        ll.llama_memory_seq_cp(self._mem, best.slot, seq.seq_id, -1, -1)
        ll.llama_memory_seq_rm(self._mem, seq.seq_id, shared, -1)
        seq.n_past = seq.cached = shared
        best.used = step
        # a prompt that extends the hit by a useful length is kept too (a problem after its few-shot prefix, which
        # its samples' verifications then share)
        seq.store = len(seq.tokens) - shared >= o.prefix_min

    def _store_prefix(self, seq: _Seq, cache: list[_Cached], step: int) -> None:
        """Keep a just-prefilled prompt in the least recently used cache slot."""
        ll = self._ll
        seq.store = False
        c = min(cache, key=lambda c: c.used)
        ll.llama_memory_seq_rm(self._mem, c.slot, -1, -1)
        ll.llama_memory_seq_cp(self._mem, seq.seq_id, c.slot, -1, -1)
        c.tokens, c.used = list(seq.tokens), step

    @staticmethod
    def _put(b, i: int, token: int, pos: int, seq_id: int, logits: bool) -> None:
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq_id
        b.logits[i] = logits
