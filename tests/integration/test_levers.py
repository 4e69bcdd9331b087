"""Training-side levers on real weights: distillation checkpoints itself and resumes to the same model."""

import numpy as np
import pytest

from tokenfall.errors import Interrupted
from tokenfall.levers.distill import Distill, kd_loss
from tokenfall.models import lineage_of, resolve
from tokenfall.models.gguf_write import drop_layers
from tokenfall.workloads.texts import stdlib_docstrings


def test_kd_loss_is_the_forward_kl_times_t_squared():
    import torch
    import torch.nn.functional as F

    s, t = torch.randn(2, 3, 11), torch.randn(2, 3, 11)
    expected = F.kl_div(F.log_softmax(s / 2, -1), F.log_softmax(t / 2, -1), log_target=True, reduction="sum") / 6 * 4
    assert float(kd_loss(s, t, 2.0)) == pytest.approx(float(expected), rel=1e-5)
    assert float(kd_loss(t, t, 2.0)) == pytest.approx(0.0, abs=1e-6)


def test_stdlib_corpus_splits_train_from_heldout():
    train, held = stdlib_docstrings("train", max_chars=200_000), stdlib_docstrings("heldout")
    assert len(train) == 200_000 and len(held) > 10_000
    assert held.split("\n\n")[0] not in stdlib_docstrings("train")  # a held-out module's text is never trained on


def test_distill_resumes_from_its_checkpoint_to_the_same_model(tmp_path, smollm):
    import gguf

    student = resolve(str(drop_layers(smollm.path, tmp_path / "student.gguf", list(range(4, 28)))))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(stdlib_docstrings("train", max_chars=6000))
    lever = Distill()
    opts = Distill.Options(teacher=smollm.path, corpus=[str(corpus)], steps=4, seq_len=32, batch=1, precision="fp32", out_type="f32")
    whole = lever.apply(student, tmp_path / "whole.gguf", opts)

    def stop_after_2(step, total, loss):
        if step == 2:
            raise KeyboardInterrupt

    resumed = tmp_path / "resumed.gguf"
    with pytest.raises(Interrupted, match="resume"):
        lever.apply(student, resumed, opts, progress=stop_after_2)
    assert not resumed.exists() and (tmp_path / ".resumed.gguf.ckpt").is_file()
    steps = []
    lever.apply(student, resumed, opts, progress=lambda step, total, loss: steps.append(step))
    assert steps == [2, 3, 4] and not (tmp_path / ".resumed.gguf.ckpt").exists()
    lin = lineage_of(resumed)
    assert lin["steps_done"] == "4" and lin["teacher_sha256"] == smollm.sha256 and lin["parent_sha256"] == student.sha256
    a = {t.name: np.asarray(t.data) for t in gguf.GGUFReader(whole).tensors}
    b = {t.name: np.asarray(t.data) for t in gguf.GGUFReader(resumed).tensors}
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)  # resuming replays the same training
    before = next(gguf.quants.dequantize(t.data, t.tensor_type) for t in gguf.GGUFReader(student.path).tensors
                  if t.name == "blk.0.ffn_up.weight")
    assert not np.array_equal(a["blk.0.ffn_up.weight"], before)  # training moved the student's weights
