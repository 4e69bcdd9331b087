"""Tree search over reasoning steps, with a budget in generated tokens.

A step is one line of the answer (generation stops at a newline); a path ends at the task's stop strings, the end
of generation, or ``max_tokens``. Both searches use only what a deployment has — the model's own token
log-probabilities and, when configured, the verifier — never the answer key.

- **Beam**: every live beam is extended by ``expand`` sampled steps (all sent at once, so they batch); the
  ``width`` paths with the highest mean token log-probability survive. The answer is the best finished path's.
- **MCTS**: from the root, descend by UCT (mean reward + c·sqrt(ln N / n)) while a node has its ``expand``
  children; add one sampled step; roll out to the end of the answer; back the reward up the path. The reward is
  the verifier's P(correct) of the rollout's answer, else its mean token probability. The answer is the one with
  the largest total reward over all rollouts.

Each request's seed is fixed by the run seed, the problem and the node, so identical seeds give identical trees.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from tokenfall.engines import Engine
from tokenfall.ttc.sampling import Meter, draw, seed_of
from tokenfall.types import Searched


@dataclass
class Path:
    text: str = ""
    logprob: float = 0.0
    tokens: int = 0
    done: bool = False

    @property
    def mean(self) -> float:
        return self.logprob / self.tokens if self.tokens else 0.0


@dataclass
class Node:
    path: Path
    key: str
    children: list["Node"] = field(default_factory=list)
    visits: int = 0
    reward: float = 0.0


class Search:
    """What both searches share: the engine, the problem, the step and stop rules, and the token budget."""

    def __init__(self, engine: Engine, prompt: str, *, max_tokens: int, temperature: float, top_p: float, seed: int,
                 index: int, stops: tuple[str, ...], budget: int):
        self.engine, self.prompt, self.max_tokens = engine, prompt, max_tokens
        self.temperature, self.top_p, self.seed, self.index = temperature, top_p, seed, index
        self.stops, self.budget = stops, budget
        self.spent = 0
        self.nodes = 0

    @property
    def left(self) -> int:
        return self.budget - self.spent

    async def extend(self, path: Path, key: str, whole: bool = False, share: int = 1) -> Path:
        """``path`` plus one step (or, ``whole``, the rest of the answer), sampled with a seed fixed by ``key``;
        ``share`` extensions running at once split what is left of the budget."""
        room = max(1, min(self.max_tokens - path.tokens, self.left // share))
        d = await draw(self.engine, self.prompt + path.text, None, room, self.temperature, self.top_p,
                       seed_of(self.seed, self.index, key), self.stops if whole else (*self.stops, "\n"))
        self.spent += d.tokens
        self.nodes += 1
        step = d.cut_by == "\n"
        blank = step and not d.text.strip() and (not path.text or path.text.endswith("\n"))
        tokens = path.tokens + d.tokens
        done = not step or blank or tokens >= self.max_tokens
        return Path(path.text + d.text + ("\n" if step and not blank else ""), path.logprob + (d.logprob or 0.0), tokens, done)


async def beam(s: Search, width: int, expand: int) -> Path:
    beams, depth = [Path()], 0
    while s.left > 0 and not all(b.done for b in beams):
        live = [b for b in beams if not b.done]
        grown = await asyncio.gather(*(s.extend(b, f"beam:{depth}:{i}:{j}", share=len(live) * expand)
                                       for i, b in enumerate(live) for j in range(expand)))
        beams = sorted([b for b in beams if b.done] + list(grown), key=lambda p: p.mean, reverse=True)[:width]
        depth += 1
    return max([b for b in beams if b.done] or beams, key=lambda p: p.mean)


async def mcts(s: Search, expand: int, reward: Callable[[str, Path], Awaitable[float]], extract: Callable[[str], str | None],
               c: float = 1.4) -> str | None:
    root = Node(Path(), "mcts")
    totals: dict[str, float] = {}

    def exhausted(n: Node) -> bool:  # nothing left to add below it: an ended path, or all children there and exhausted
        return n.path.done or (len(n.children) >= expand and all(exhausted(ch) for ch in n.children))

    while s.left > 0 and not exhausted(root):
        trail, node = [root], root
        while len(node.children) >= expand:
            parent = node
            node = max((ch for ch in parent.children if not exhausted(ch)),
                       key=lambda ch: ch.reward / ch.visits + c * math.sqrt(math.log(parent.visits) / ch.visits))
            trail.append(node)
        key = f"{node.key}.{len(node.children)}"
        child = Node(await s.extend(node.path, key), key)
        node.children.append(child)
        trail.append(child)
        if not child.path.done and s.left <= 0:
            break
        end = child.path if child.path.done else await s.extend(child.path, key + ":rollout", whole=True)
        answer = extract(end.text)
        r = await reward(answer, end) if answer is not None else 0.0
        if answer is not None:
            totals[answer] = totals.get(answer, 0.0) + r
        for n in trail:
            n.visits += 1
            n.reward += r
    return max(totals, key=lambda a: (totals[a], a)) if totals else None


async def solve(method: str, engine: Engine, index: int, prompt: str, answer: str, *, width: int, expand: int,
                budget: int, max_tokens: int, temperature: float, top_p: float, seed: int, stops: tuple[str, ...],
                extract: Callable[[str], str | None], same: Callable[[str, str], bool],
                verify: Callable[[str], Awaitable[float]] | None) -> Searched:
    """One problem by ``method`` within ``budget`` generated tokens (the verifier's prompts are priced by seconds)."""
    s = Search(engine, prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed, index=index,
               stops=stops, budget=budget)
    meter = Meter(engine)

    async def reward(a: str, path: Path) -> float:
        return await verify(a) if verify is not None else math.exp(path.mean)

    if method == "beam":
        got = extract((await beam(s, width, expand)).text)
    else:
        got = await mcts(s, expand, reward, extract)
    prefill_s, decode_s, _, computed = meter.read()
    return Searched(index=index, method=method, answer=got, correct=got is not None and same(got, answer), tokens=s.spent,
                    prompt_computed=computed or 0, seconds=prefill_s + decode_s, nodes=s.nodes)
