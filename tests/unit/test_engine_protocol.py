"""Every engine has every member the Engine protocol declares, the optional capabilities included: callers use
these names directly (no getattr/hasattr probing)."""

from tokenfall import models
from tokenfall.engines import ENGINES, Engine, create


def test_engines_implement_the_whole_protocol():
    declared = {n for n in vars(Engine) if not n.startswith("_")} | set(Engine.__annotations__)
    assert {"processes", "busy", "opts", "model_info", "tokenizer", "info", "start", "stream", "stop"} <= declared
    refs = {"llamacpp": "smollm2-135m", "transformers": "smollm2-135m", "openai": "http://127.0.0.1:9/v1#m", "routed": "smollm2-135m"}
    opts = {"routed": {"large": "http://127.0.0.1:9/v1#m", "large_engine": "openai"}}
    for name in ENGINES.names():
        engine = create(name, models.resolve(refs[name]), opts.get(name))  # constructed, not started: nothing loads
        assert Engine in type(engine).__mro__ and not [m for m in declared if not hasattr(engine, m)]
        assert engine.processes >= 1
        assert engine.busy() is None or engine.busy() == (0.0, 0.0)
