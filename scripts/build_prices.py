"""Rebuild src/tokenfall/data/prices.csv: the research rows plus dated rows mined from PyPI snapshots of LiteLLM's price map.

    python scripts/build_prices.py [--research ../shared/research/prices.csv]

Needs network (pip download of old tokencost/litellm releases, cached in ~/.cache/tokenfall/price-snapshots);
the package never does this at run time. Each mined row is a price as the map recorded it in a package
uploaded on a known date, so its date is an upper bound on when the price took effect (stated in the row).
Capability scores of mined rows are copied from the research row of the same model, with that row's source.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src/tokenfall/data/prices.csv"
CACHE = Path.home() / ".cache/tokenfall/price-snapshots"
COLUMNS = ["model", "provider", "date", "usd_per_m_input", "usd_per_m_output", "open_weights", "reasoning", "pricing",
           "mmlu", "other_score_name", "other_score", "source_price", "source_score", "notes"]

# (package, version, upload date on PyPI, json file inside the wheel)
SNAPSHOTS = [
    ("litellm", "0.12.10", "2023-11-02", "litellm/model_prices_and_context_window_backup.json"),
    ("litellm", "1.9.4", "2023-12-01", "litellm/model_prices_and_context_window_backup.json"),
    *[("tokencost", v, d, "tokencost/model_prices.json") for v, d in [
        ("0.1.1", "2024-02-06"), ("0.1.3", "2024-03-26"), ("0.1.8", "2024-05-22"), ("0.1.10", "2024-06-15"),
        ("0.1.12", "2024-07-25"), ("0.1.14", "2024-10-17"), ("0.1.17", "2024-11-16"), ("0.1.18", "2025-02-11"),
        ("0.1.20", "2025-03-29"), ("0.1.22", "2025-05-23"), ("0.1.24", "2025-06-24"), ("0.1.26", "2025-08-13")]],
]

# research-row model whose scores a canonical name borrows
SCORES_FROM = {
    "Llama 2 7B Chat": "Llama 2 7B Chat", "Llama 2 13B Chat": "Llama 2 13B Chat", "Llama 2 70B Chat": "Llama 2 70B Chat",
    "Mistral 7B Instruct": "Mistral 7B (open-mistral-7b)", "Mixtral 8x7B Instruct": "Mixtral 8x7B Instruct",
    "Mixtral 8x22B Instruct": "Mixtral 8x22B (open-mixtral-8x22b)", "Llama 3 8B Instruct": "Llama 3 8B Instruct",
    "Llama 3 70B Instruct": "Llama 3 70B Instruct", "Llama 3.1 8B Instruct": "Llama 3.1 8B Instruct",
    "Llama 3.1 70B Instruct": "Llama 3.1 70B Instruct", "Llama 3.1 405B Instruct": "Llama 3.1 405B Instruct",
    "Llama 3.2 1B Instruct": "Llama 3.2 1B Instruct", "Llama 3.2 3B Instruct": "Llama 3.2 3B Instruct",
    "Llama 3.3 70B Instruct": "Llama 3.3 70B Instruct", "Qwen2-72B-Instruct": "Qwen2-72B-Instruct",
    "DeepSeek-V3": "DeepSeek-V3", "Llama 4 Maverick": "Llama 4 Maverick", "Llama 4 Scout": "Llama 4 Scout",
    "Gemma 2 9B": "Gemma 2 9B (hosted)", "Command R": "Command R (08-2024)", "DeepSeek-V2 (deepseek-chat)": "DeepSeek-V2 (deepseek-chat)",
}

# LiteLLM key -> (canonical model, provider label)
KEYS = {
    "deepinfra/meta-llama/Llama-2-7b-chat-hf": ("Llama 2 7B Chat", "DeepInfra"),
    "deepinfra/meta-llama/Llama-2-13b-chat-hf": ("Llama 2 13B Chat", "DeepInfra"),
    "deepinfra/meta-llama/Llama-2-70b-chat-hf": ("Llama 2 70B Chat", "DeepInfra"),
    "deepinfra/mistralai/Mistral-7B-Instruct-v0.1": ("Mistral 7B Instruct", "DeepInfra"),
    "deepinfra/mistralai/Mixtral-8x7B-Instruct-v0.1": ("Mixtral 8x7B Instruct", "DeepInfra"),
    "deepinfra/meta-llama/Meta-Llama-3-8B-Instruct": ("Llama 3 8B Instruct", "DeepInfra"),
    "deepinfra/meta-llama/Meta-Llama-3-70B-Instruct": ("Llama 3 70B Instruct", "DeepInfra"),
    "deepinfra/meta-llama/Meta-Llama-3.1-405B-Instruct": ("Llama 3.1 405B Instruct", "DeepInfra"),
    "openrouter/meta-llama/llama-2-13b-chat": ("Llama 2 13B Chat", "OpenRouter"),
    "openrouter/meta-llama/llama-2-70b-chat": ("Llama 2 70B Chat", "OpenRouter"),
    "openrouter/mistralai/mistral-7b-instruct": ("Mistral 7B Instruct", "OpenRouter"),
    "openrouter/meta-llama/llama-3-70b-instruct": ("Llama 3 70B Instruct", "OpenRouter"),
    "openrouter/mistralai/mixtral-8x22b-instruct": ("Mixtral 8x22B Instruct", "OpenRouter"),
    "openrouter/deepseek/deepseek-chat": ("DeepSeek-V3", "OpenRouter"),
    "meta.llama2-13b-chat-v1": ("Llama 2 13B Chat", "Amazon Bedrock"),
    "meta.llama2-70b-chat-v1": ("Llama 2 70B Chat", "Amazon Bedrock"),
    "meta.llama3-8b-instruct-v1:0": ("Llama 3 8B Instruct", "Amazon Bedrock"),
    "meta.llama3-70b-instruct-v1:0": ("Llama 3 70B Instruct", "Amazon Bedrock"),
    "meta.llama3-1-8b-instruct-v1:0": ("Llama 3.1 8B Instruct", "Amazon Bedrock"),
    "meta.llama3-1-70b-instruct-v1:0": ("Llama 3.1 70B Instruct", "Amazon Bedrock"),
    "meta.llama3-1-405b-instruct-v1:0": ("Llama 3.1 405B Instruct", "Amazon Bedrock"),
    "meta.llama3-2-1b-instruct-v1:0": ("Llama 3.2 1B Instruct", "Amazon Bedrock"),
    "meta.llama3-2-3b-instruct-v1:0": ("Llama 3.2 3B Instruct", "Amazon Bedrock"),
    "meta.llama3-3-70b-instruct-v1:0": ("Llama 3.3 70B Instruct", "Amazon Bedrock"),
    "meta.llama4-maverick-17b-instruct-v1:0": ("Llama 4 Maverick", "Amazon Bedrock"),
    "meta.llama4-scout-17b-instruct-v1:0": ("Llama 4 Scout", "Amazon Bedrock"),
    "mistral.mistral-7b-instruct-v0:2": ("Mistral 7B Instruct", "Amazon Bedrock"),
    "mistral.mixtral-8x7b-instruct-v0:1": ("Mixtral 8x7B Instruct", "Amazon Bedrock"),
    "anyscale/meta-llama/Llama-2-7b-chat-hf": ("Llama 2 7B Chat", "Anyscale"),
    "anyscale/meta-llama/Llama-2-13b-chat-hf": ("Llama 2 13B Chat", "Anyscale"),
    "anyscale/meta-llama/Llama-2-70b-chat-hf": ("Llama 2 70B Chat", "Anyscale"),
    "anyscale/mistralai/Mistral-7B-Instruct-v0.1": ("Mistral 7B Instruct", "Anyscale"),
    "anyscale/mistralai/Mixtral-8x7B-Instruct-v0.1": ("Mixtral 8x7B Instruct", "Anyscale"),
    "anyscale/mistralai/Mixtral-8x22B-Instruct-v0.1": ("Mixtral 8x22B Instruct", "Anyscale"),
    "anyscale/meta-llama/Meta-Llama-3-8B-Instruct": ("Llama 3 8B Instruct", "Anyscale"),
    "anyscale/meta-llama/Meta-Llama-3-70B-Instruct": ("Llama 3 70B Instruct", "Anyscale"),
    "groq/mixtral-8x7b-32768": ("Mixtral 8x7B Instruct", "Groq"),
    "groq/llama3-8b-8192": ("Llama 3 8B Instruct", "Groq"),
    "groq/llama3-70b-8192": ("Llama 3 70B Instruct", "Groq"),
    "groq/gemma2-9b-it": ("Gemma 2 9B", "Groq"),
    "groq/llama-3.2-1b-preview": ("Llama 3.2 1B Instruct", "Groq"),
    "groq/llama-3.2-3b-preview": ("Llama 3.2 3B Instruct", "Groq"),
    "groq/meta-llama/llama-4-maverick-17b-128e-instruct": ("Llama 4 Maverick", "Groq"),
    "groq/meta-llama/llama-4-scout-17b-16e-instruct": ("Llama 4 Scout", "Groq"),
    "fireworks_ai/mixtral-8x22b-instruct-hf": ("Mixtral 8x22B Instruct", "Fireworks"),
    "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct": ("Llama 3.1 8B Instruct", "Fireworks"),
    "fireworks_ai/accounts/fireworks/models/llama-v3p2-1b-instruct": ("Llama 3.2 1B Instruct", "Fireworks"),
    "fireworks_ai/accounts/fireworks/models/llama4-maverick-instruct-basic": ("Llama 4 Maverick", "Fireworks"),
    "fireworks_ai/accounts/fireworks/models/llama4-scout-instruct-basic": ("Llama 4 Scout", "Fireworks"),
    "friendliai/meta-llama-3-8b-instruct": ("Llama 3 8B Instruct", "FriendliAI"),
    "friendliai/meta-llama-3-70b-instruct": ("Llama 3 70B Instruct", "FriendliAI"),
    "friendliai/mixtral-8x7b-instruct-v0-1": ("Mixtral 8x7B Instruct", "FriendliAI"),
    "friendliai/meta-llama-3.1-8b-instruct": ("Llama 3.1 8B Instruct", "FriendliAI"),
    "friendliai/meta-llama-3.1-70b-instruct": ("Llama 3.1 70B Instruct", "FriendliAI"),
    "perplexity/llama-2-70b-chat": ("Llama 2 70B Chat", "Perplexity"),
    "perplexity/mistral-7b-instruct": ("Mistral 7B Instruct", "Perplexity"),
    "perplexity/mixtral-8x7b-instruct": ("Mixtral 8x7B Instruct", "Perplexity"),
    "perplexity/llama-3.1-8b-instruct": ("Llama 3.1 8B Instruct", "Perplexity"),
    "perplexity/llama-3.1-70b-instruct": ("Llama 3.1 70B Instruct", "Perplexity"),
    "replicate/meta/llama-2-7b-chat": ("Llama 2 7B Chat", "Replicate"),
    "replicate/meta/llama-2-13b-chat": ("Llama 2 13B Chat", "Replicate"),
    "replicate/meta/llama-2-70b-chat": ("Llama 2 70B Chat", "Replicate"),
    "replicate/meta/llama-3-8b-instruct": ("Llama 3 8B Instruct", "Replicate"),
    "replicate/meta/llama-3-70b-instruct": ("Llama 3 70B Instruct", "Replicate"),
    "replicate/mistralai/mistral-7b-instruct-v0.2": ("Mistral 7B Instruct", "Replicate"),
    "replicate/mistralai/mixtral-8x7b-instruct-v0.1": ("Mixtral 8x7B Instruct", "Replicate"),
    "together_ai/meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8": ("Llama 4 Maverick", "Together"),
    "together_ai/meta-llama/Llama-4-Scout-17B-16E-Instruct": ("Llama 4 Scout", "Together"),
    "together_ai/deepseek-ai/DeepSeek-V3": ("DeepSeek-V3", "Together"),
    "command-r": ("Command R", "Cohere"),
    "deepseek/deepseek-v3": ("DeepSeek-V3", "DeepSeek"),
}

# (key, snapshot date): entries the research notes or a later snapshot show to be errors in the map
KNOWN_BAD = {("groq/llama-3.1-8b-instant", "2024-07-25"), ("mistral/open-mixtral-8x7b", "2024-05-22")}

OPEN_PREFIXES = ("Llama", "Mixtral", "Mistral 7B", "Mistral NeMo", "Mistral Small 3", "Mistral Large 2 ", "Mistral Large 24.11",
                 "DeepSeek", "Gemma", "Qwen2", "Qwen3", "Phi-4", "Command R", "gpt-oss")


def snapshot(package: str, version: str, member: str) -> dict:
    d = CACHE / f"{package}-{version}"
    if not d.exists():
        d.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-cache-dir", "--no-deps", "--only-binary", ":all:",
                        f"{package}=={version}", "-d", str(d)], check=True)
        subprocess.run(["unzip", "-q", "-o", glob.glob(str(d / "*.whl"))[0], member, "-d", str(d)], check=True)
    return json.loads((d / member).read_text())


def _num(x: str) -> str:
    return f"{float(x):.6g}" if x else ""


def research_rows(path: Path) -> list[dict]:
    out = []
    for r in csv.DictReader(path.open()):
        model = r["model"]
        out.append({
            "model": model, "provider": r["provider"], "date": r["date_available"],
            "usd_per_m_input": _num(r["usd_per_m_input"]), "usd_per_m_output": _num(r["usd_per_m_output"]),
            "open_weights": "yes" if (model.startswith(OPEN_PREFIXES) or "open weight" in r["provider"]) and "Max" not in model else "no",
            "reasoning": "yes" if "easoning model" in r["notes"] else "no",
            "pricing": "tiered" if "plan" in model and "overage" in model else "flat",
            "mmlu": r["mmlu"], "other_score_name": r["other_score_name"], "other_score": r["other_score"],
            "source_price": r["source_price"], "source_score": r["source_score"], "notes": r["notes"],
        })
    return out


def mined_rows(base: list[dict]) -> list[dict]:
    by_model = {r["model"]: r for r in base}
    seen = {(r["model"].split(" (")[0], r["provider"], r["usd_per_m_input"], r["usd_per_m_output"]) for r in base}
    seen |= {(SCORES_FROM_INV.get(r["model"], r["model"]), r["provider"], r["usd_per_m_input"], r["usd_per_m_output"]) for r in base}
    last: dict[str, tuple] = {}
    out = []
    for package, version, date, member in SNAPSHOTS:
        prices = snapshot(package, version, member)
        for key, (model, provider) in KEYS.items():
            e = prices.get(key)
            if not isinstance(e, dict) or e.get("input_cost_per_token") is None or e.get("output_cost_per_token") is None:
                continue
            p = (_num(str(round(e["input_cost_per_token"] * 1e6, 6))), _num(str(round(e["output_cost_per_token"] * 1e6, 6))))
            if p == last.get(key):
                continue
            last[key] = p
            if float(p[0]) <= 0 or float(p[1]) <= 0 or (key, date) in KNOWN_BAD or (model, provider, *p) in seen:
                continue
            seen.add((model, provider, *p))
            ref = by_model[SCORES_FROM[model]]
            out.append({
                "model": model, "provider": provider, "date": date, "usd_per_m_input": p[0], "usd_per_m_output": p[1],
                "open_weights": "yes", "reasoning": "no", "pricing": "flat",
                "mmlu": ref["mmlu"], "other_score_name": ref["other_score_name"], "other_score": ref["other_score"],
                "source_price": f"pypi:{package}=={version} {member} key '{key}' (a copy of LiteLLM's price map; package uploaded {date})",
                "source_score": ref["source_score"],
                "notes": f"Date = upload date of the first package snapshot with this price: an upper bound on when it took effect. "
                         f"Scores copied from the research row '{ref['model']}'.",
            })
    return out


SCORES_FROM_INV = {v: k for k, v in SCORES_FROM.items()} | {"Mixtral 8x7B": "Mixtral 8x7B Instruct", "Llama 2 70B": "Llama 2 70B Chat"}


# research rows of first-party models -> their key in LiteLLM's map, for the cross-check
FIRST_PARTY = {
    "GPT-4 (8K, gpt-4-0314)": "gpt-4-0314", "GPT-4-32K (gpt-4-32k-0314)": "gpt-4-32k-0314", "gpt-3.5-turbo-0613 (4K)": "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-16k (0613)": "gpt-3.5-turbo-16k-0613", "gpt-3.5-turbo-1106": "gpt-3.5-turbo-1106", "gpt-3.5-turbo-0125": "gpt-3.5-turbo-0125",
    "GPT-4 Turbo (gpt-4-1106-preview)": "gpt-4-1106-preview", "GPT-4o (2024-05-13)": "gpt-4o-2024-05-13",
    "GPT-4o (2024-08-06)": "gpt-4o-2024-08-06", "GPT-4o (2024-11-20)": "gpt-4o-2024-11-20", "GPT-4o mini": "gpt-4o-mini-2024-07-18",
    "Claude 2": "claude-2", "Claude 2.1": "claude-2.1", "Claude Instant 1": "claude-instant-1", "Claude 3 Opus": "claude-3-opus-20240229",
    "Claude 3 Sonnet": "claude-3-sonnet-20240229", "Claude 3 Haiku": "claude-3-haiku-20240307",
    "Claude 3.5 Sonnet (2024-06-20)": "claude-3-5-sonnet-20240620", "Claude 3.5 Sonnet (2024-10-22)": "claude-3-5-sonnet-20241022",
    "Claude 3.5 Haiku (launch)": "claude-3-5-haiku-20241022", "Claude 3.7 Sonnet": "claude-3-7-sonnet-20250219",
    "Command R (08-2024)": "command-r-08-2024", "GPT-4.1": "gpt-4.1", "GPT-4.1 mini": "gpt-4.1-mini", "GPT-4.1 nano": "gpt-4.1-nano",
    "GPT-5": "gpt-5", "GPT-5 mini": "gpt-5-mini", "GPT-5 nano": "gpt-5-nano", "DeepSeek-V3 (standard price)": "deepseek/deepseek-chat",
}


def check(base: list[dict]) -> list[str]:
    """Research rows against the first snapshot on or after their date that lists the same model at the same host."""
    keys = {(m, p): k for k, (m, p) in KEYS.items()}
    snaps = [(d, snapshot(pk, v, mem)) for pk, v, d, mem in SNAPSHOTS]
    lines = []
    for r in base:
        key = FIRST_PARTY.get(r["model"]) or keys.get((SCORES_FROM_INV.get(r["model"], r["model"]), r["provider"]))
        if not key:
            continue
        later = [(d, js[key]) for d, js in snaps if d >= r["date"] and isinstance(js.get(key), dict)]
        if not later:
            continue
        d, e = later[0]
        got = (_num(str(round(e["input_cost_per_token"] * 1e6, 6))), _num(str(round(e["output_cost_per_token"] * 1e6, 6))))
        same = got == (r["usd_per_m_input"], r["usd_per_m_output"])
        lines.append(f"{'ok ' if same else 'DIFF'} {r['date']} {r['model']} / {r['provider']}: "
                     f"{r['usd_per_m_input']}/{r['usd_per_m_output']} vs snapshot {d} '{key}' {got[0]}/{got[1]}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--research", default=str(ROOT.parent / "shared/research/prices.csv"))
    ap.add_argument("--check", action="store_true", help="compare research rows with the snapshots instead of writing")
    a = ap.parse_args()
    base = research_rows(Path(a.research))
    if a.check:
        lines = check(base)
        print("\n".join(lines))
        print(f"{sum(x.startswith('ok') for x in lines)} of {len(lines)} research rows match the first later snapshot")
        return
    rows = sorted(base + mined_rows(base), key=lambda r: (r["date"], r["model"], r["provider"]))
    tmp = OUT.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(OUT)
    print(f"{len(rows)} rows ({len(base)} research, {len(rows) - len(base)} mined) -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
