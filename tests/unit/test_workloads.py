import numpy as np
import pytest

from tokenfall.errors import TokenfallError
from tokenfall.types import Load, Prompts
from tokenfall.workloads import prompts
from tokenfall.workloads.schedule import arrivals


def test_constant_arrivals_are_exact():
    assert arrivals(Load(mode="constant", rate=4.0), 5) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_poisson_arrivals_are_seeded_with_the_right_mean_gap():
    a = arrivals(Load(mode="poisson", rate=10.0, seed=3), 5000)
    assert a == arrivals(Load(mode="poisson", rate=10.0, seed=3), 5000)
    assert np.mean(np.diff(a)) == pytest.approx(0.1, rel=0.05)


def test_jsonl_errors_name_file_and_line(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"prompt": "hi"}\n{"prompt": 3}\n')
    with pytest.raises(TokenfallError, match=r"p.jsonl:2: expected an object with a non-empty string"):
        prompts.from_jsonl(f, Prompts())
    f.write_text('{"prompt": "hi", "max_tokens": 5}\nnot json\n')
    with pytest.raises(TokenfallError, match=r"p.jsonl:2"):
        prompts.from_jsonl(f, Prompts())
    f.write_text("\n\n")
    with pytest.raises(TokenfallError, match="holds no prompts"):
        prompts.from_jsonl(f, Prompts())


def test_jsonl_prompts_cycle(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"prompt": "a", "max_tokens": 5}\n{"prompt": "b"}\n')
    reqs = prompts.build(5, Prompts(source="jsonl", path=str(f), output_tokens=7), None)
    assert [r.prompt for r in reqs] == ["a", "b", "a", "b", "a"]
    assert [r.max_tokens for r in reqs[:2]] == [5, 7] and [r.id for r in reqs] == list(range(5))
