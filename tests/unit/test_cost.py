"""Cost arithmetic against hand-computed values."""

import pytest

from tokenfall import cost
from tokenfall.errors import TokenfallError
from tokenfall.types import Pricing


def P(**kw):
    base = dict(usd_per_hour=3.6, usd_per_hour_source="test", includes_energy=True, watts=100.0, watts_source="test",
                usd_per_kwh=0.2, utilisation=1.0)
    return Pricing(**{**base, **kw})


def test_per_million_formula():
    # $3.60/h over 1000 tok/s: 3.6 / 3.6e6 tokens * 1e6 = $1.00 per million
    assert cost.per_million(3.6, 1000.0) == pytest.approx(1.0)
    assert cost.per_million(3.6, 0.0) is None


def test_split_by_prefill_share_and_blend():
    c = cost.price(P(), input_tps=2000.0, output_tps=500.0, prefill_share=0.25)
    # input: 3.6*0.25 = 0.9 $/h over 2000 tok/s -> 0.9/(7.2e6)*1e6 = 0.125
    assert c.usd_per_m_input == pytest.approx(0.125)
    # output: 3.6*0.75 = 2.7 $/h over 500 tok/s -> 2.7/1.8e6*1e6 = 1.5
    assert c.usd_per_m_output == pytest.approx(1.5)
    assert c.usd_per_m_blended == pytest.approx((3 * 0.125 + 1.5) / 4)
    # energy: 100 W * 0.75 over 500 tok/s -> 75 W / 1.8e6 tok/h * 1e6 = 41.666 Wh per M output tokens
    assert c.wh_per_m_output == pytest.approx(75 / 1.8)
    assert any("prefill 25.0%" in a for a in c.assumptions)


def test_energy_added_only_when_not_in_price_and_utilisation_divides():
    c = cost.price(P(includes_energy=False, utilisation=0.5), input_tps=1000.0, output_tps=1000.0, prefill_share=0.0)
    # (3.6 + 0.1 kW * $0.2) / 0.5 = 7.24 $/h; all to output: 7.24/3.6e6*1e6
    assert c.usd_per_hour_total == pytest.approx(7.24)
    assert c.usd_per_m_output == pytest.approx(7.24 / 3.6)
    assert c.usd_per_m_input is None or c.usd_per_m_input == 0.0


def test_pricing_from_catalog_and_user_price():
    p = cost.pricing()
    assert p.hardware in cost.catalog() and p.includes_energy
    u = cost.pricing(usd_per_hour=2.0, watts=300)
    assert not u.includes_energy and u.usd_per_hour_source == "given by user"
    with pytest.raises(TokenfallError, match="--watts"):
        cost.pricing(usd_per_hour=2.0)
    with pytest.raises(TokenfallError, match="Did you mean 'h200-runpod'"):
        cost.pricing(hardware="h200-runpd")
    with pytest.raises(TokenfallError, match="utilisation"):
        cost.pricing(utilisation=0)


def test_catalog_entries_have_sources():
    for e in cost.catalog().values():
        assert e["source"] and e["date"] and e["usd_per_hour"] > 0 and e["watts"] > 0 and e["watts_source"]
