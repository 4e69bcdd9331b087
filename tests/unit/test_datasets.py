"""Named public data sets: mirror first, then the cache, then one checked download (a real HTTP server on
127.0.0.1 serving a small file in the published layout), and one clear line when none can be had."""

import bz2
import hashlib
import http.server
import json
import threading
from dataclasses import replace

import pytest

from tokenfall.errors import TokenfallError
from tokenfall.quality import datasets, tasks
from tokenfall.types import TaskSpec

# Two items in llama.cpp's HellaSwag text layout, written for this test (not benchmark text).
LAYOUT = ("Baking: A cook cracks two eggs into a bowl. she\n2\nthrows the bowl at the wall.\nsings to the eggs.\n"
          "whisks them with a fork.\npaints the bowl blue.\n"
          "Cycling: A rider pumps the tyres.\n0\nThen she rides off down the lane.\nThe tyres turn into birds.\n"
          "She eats the pump.\nThe lane folds up.\n")


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server serving one file; yields (url, bytes, hits)."""
    raw = bz2.compress(LAYOUT.encode())
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hellaswag_val_full.txt.bz2", raw, hits
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def no_mirror(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "mirror_dirs", lambda: [])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_download_is_checked_converted_cached_and_named(served, no_mirror, monkeypatch):
    url, raw, hits = served
    d = replace(datasets.DATASETS["hellaswag"], url=url, sha256=hashlib.sha256(raw).hexdigest())
    monkeypatch.setitem(datasets.DATASETS, "hellaswag", d)
    found = datasets.locate("hellaswag")
    assert found.origin == f"downloaded from {url}" and len(hits) == 1
    rows = [json.loads(line) for line in found.path.read_text().splitlines()]
    assert rows[0] == {"id": 0, "context": "A cook cracks two eggs into a bowl. ", "correct": "she whisks them with a fork.",
                       "wrong": "she throws the bowl at the wall."}
    assert rows[1]["correct"] == "Then she rides off down the lane." and rows[1]["wrong"] == "The tyres turn into birds."
    again = datasets.locate("hellaswag")  # from the cache: no second download
    assert again.path == found.path and again.origin.startswith("cache ") and len(hits) == 1
    task = tasks.load(TaskSpec(kind="dataset", source="hellaswag"))
    assert task.name == "hellaswag" and task.kind == "choice" and len(task.items) == 2 and task.origin.startswith("cache")


def test_a_changed_file_is_refused(served, no_mirror, monkeypatch):
    url, raw, _ = served
    monkeypatch.setitem(datasets.DATASETS, "hellaswag", replace(datasets.DATASETS["hellaswag"], url=url, sha256="0" * 64))
    with pytest.raises(TokenfallError, match="sha256"):
        datasets.locate("hellaswag")


def test_offline_without_a_mirror_says_how_to_provide_the_file(no_mirror, monkeypatch):
    monkeypatch.setitem(datasets.DATASETS, "gsm8k", replace(datasets.DATASETS["gsm8k"], url="http://127.0.0.1:9/test.jsonl"))
    with pytest.raises(TokenfallError) as e:
        datasets.locate("gsm8k")
    msg = str(e.value)
    assert "\n" not in msg and "TOKENFALL_DATA" in msg and "gsm8k_test_dev.jsonl" in msg and "test.jsonl" in msg


def test_a_mirror_folder_may_hold_the_published_file(tmp_path, monkeypatch):
    raw = b'{"question": "How many?", "answer": "Two and two.\\n#### 4"}\n'
    (tmp_path / "test.jsonl").write_bytes(raw)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "mirror_dirs", lambda: [tmp_path])
    monkeypatch.setitem(datasets.DATASETS, "gsm8k", replace(datasets.DATASETS["gsm8k"], sha256=hashlib.sha256(raw).hexdigest()))
    found = datasets.locate("gsm8k")
    assert found.origin == f"mirror {tmp_path / 'test.jsonl'}"
    task = tasks.load(TaskSpec(kind="dataset", source="gsm8k"))
    assert task.kind == "gen" and task.items == [("Question: How many?\nAnswer:", "4")]


def test_unknown_data_set_name(no_mirror):
    with pytest.raises(TokenfallError, match="Did you mean 'hellaswag'"):
        tasks.load(TaskSpec(kind="dataset", source="hellaswg"))
