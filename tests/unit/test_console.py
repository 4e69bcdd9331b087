"""What the CLI prints, rendered from typed runs into a recording console: no click, no terminal, no model."""

from rich.console import Console
from test_optimize_units import summary

from tokenfall.report import console
from tokenfall.store import Ledger
from tokenfall.types import Run


def _text(fn, *args) -> str:
    out = Console(record=True, width=250)
    fn(out, *args)
    return out.export_text()


def test_bench_and_eval_runs_print_their_numbers(old_ledger):
    with Ledger(old_ledger) as ledger:
        bench, = ledger.runs(kind="bench")
        ev, = ledger.runs(kind="eval")
        runs = ledger.runs()
    text = _text(console.print_bench, bench)
    for lv in bench.levels:
        assert lv.label in text and console.fmt(lv.cost.usd_per_m_output) in text
    assert "cost assumptions" in text and f"run {bench.id} (complete)" in text
    text = _text(console.print_eval, ev)
    assert f"eval run {ev.id}" in text and ev.summary.tasks[0].name in text
    listed = _text(lambda out: out.print(console.runs_table(runs)))
    assert bench.id in listed and "c=1,c=2" in listed


def test_optimize_prints_waterfall_and_headline():
    run = Run(id="r-opt", kind="optimize", created=0.0, status="complete", config={}, fingerprint={}, summary=summary())
    text = _text(console.print_optimize, run)
    assert "cost waterfall, optimize run r-opt" in text and "40.00x" in text
    assert "40.0x cheaper (95% interval 36.0-44.0x, 3 interleaved rounds)" in text


def test_fmt_keeps_three_figures_without_exponents():
    assert [console.fmt(x) for x in (None, 0.012345, 12.345, 1234.5, 123456.0)] == ["-", "0.0123", "12.3", "1,234", "123,456"]
