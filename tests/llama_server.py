"""llama-cpp-python's OpenAI server, loading weights with tokenfall's buffer-type choice (AMX off where
it is live: see tokenfall.models.llama.backend), since the server has no option for it."""

import sys

import llama_cpp.llama_cpp as ll

from tokenfall.models.llama import backend

_default = ll.llama_model_default_params


def _params():
    p = _default()
    p.use_extra_bufts = backend()["extra_bufts"]
    return p


ll.llama_model_default_params = _params

if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    sys.exit(main())
