"""wb.compress: quantised and pruned models stay within stated tolerances of the original on the
demo task, distillation beats training the student alone on the same budget, bad input gets
clear errors. (`wb.bench.compare` puts the variants side by side: tests/test_bench_compare.py.)"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import workbench as wb
from workbench.compress import CompressError, QuantizationError
from workbench.models import DemoClassifier, TransformerClassifier, accuracy

# The tolerances this module holds the compressed demo model to (test split, 426 rows).
INT8_LOGIT_TOLERANCE = 0.05  # max |logit difference| / max |logit|
INT8_AGREEMENT = 0.97  # share of rows with the same predicted class
INT8_ACCURACY_DROP = 0.02
PRUNE30_AGREEMENT = 0.95  # unstructured, 30% of the weights
PRUNE30_ACCURACY_DROP = 0.03
STRUCTURED20_AGREEMENT = 0.85  # structured, 20% of the hidden units
STRUCTURED20_ACCURACY_DROP = 0.05


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from a second thread, and on a shared 2-core machine the
    threads' spin-waits make every step erratic (a 3 s test took 40 s under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def compared_with(model, variant, task):
    """(max relative logit difference, prediction agreement, accuracy change) on the test set."""
    with torch.no_grad():
        ref, out = model(task.x_test), variant(task.x_test)
    rel = float((out - ref).abs().max() / ref.abs().max())
    agree = float((out.argmax(1) == ref.argmax(1)).float().mean())
    delta = accuracy(variant, task.x_test, task.y_test) - accuracy(model, task.x_test,
                                                                    task.y_test)
    return rel, agree, delta


# ---------------------------------------------------------------- quantise


def test_int8_model_stays_within_tolerance_on_the_demo_task(trained, task):
    q = wb.compress.quantize(trained)
    rel, agree, delta = compared_with(trained, q, task)
    assert rel < INT8_LOGIT_TOLERANCE and agree >= INT8_AGREEMENT, (rel, agree)
    assert delta >= -INT8_ACCURACY_DROP, delta
    report = q.compression_report
    assert report.variant == "int8" and list(report.details["layer"]) == ["net.0", "net.2",
                                                                          "net.4"]
    assert report.details["action"].str.startswith("int8").all()
    assert report.figures["weight_mb_after"] < 0.6 * report.figures["weight_mb_before"]
    # The original is untouched, and the copy is smaller on disk.
    assert all(type(p) is nn.Parameter for p in trained.parameters())
    assert wb.compress.size_mb(q) < 0.6 * wb.compress.size_mb(trained)


def test_int8_transformer_stays_close_and_says_what_it_kept_in_float():
    torch.manual_seed(0)
    model = TransformerClassifier(in_features=16, classes=5, d_model=64, dim_feedforward=128)
    x = torch.randn(32, 12, 16, generator=torch.Generator().manual_seed(1))
    q = wb.compress.quantize(model)
    with torch.inference_mode():
        ref, out = model.eval()(x), q(x)
    assert float((out - ref).abs().max() / ref.abs().max()) < INT8_LOGIT_TOLERANCE
    actions = q.compression_report.details.set_index("layer")["action"]
    assert actions["encoder.layers.0.linear1"].startswith("int8")
    assert "in-projection is a bare parameter" in actions["encoder.layers.0.self_attn"]
    assert "NonDynamicallyQuantizableLinear" in actions["encoder.layers.0.self_attn.out_proj"]
    assert "normalisation" in actions["encoder.layers.1.norm2"]


def test_a_model_that_cannot_be_quantised_names_its_layers_and_why():
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with pytest.raises(QuantizationError, match=r"'0' \(Conv2d\): .*convolution needs static "
                                                r"quantisation.*'1' \(BatchNorm2d\)"):
        wb.compress.quantize(conv)
    with pytest.raises(QuantizationError, match="needs an nn.Module"):
        wb.compress.quantize(lambda x: x)
    with pytest.raises(QuantizationError, match="it has no parameters at all"):
        wb.compress.quantize(nn.ReLU())


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("rnn", [
    nn.LSTM(5, 7), nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True),
    nn.LSTM(5, 7, num_layers=2, proj_size=3), nn.GRU(5, 7, num_layers=2, bidirectional=True),
    nn.RNN(5, 7, nonlinearity="relu", batch_first=True), nn.RNN(5, 7, bias=False, num_layers=3),
], ids=["lstm", "lstm-2-bi-batch-first", "lstm-proj", "gru-2-bi", "rnn-relu", "rnn-3-nobias"])
def test_recurrent_layers_rebuilt_from_linear_layers_compute_what_torch_does(rnn):
    """LinearRecurrent (float) against torch's own layer: outputs and final states, batched,
    unbatched, and from given initial states."""
    from workbench.compress.recurrent import LinearRecurrent

    torch.manual_seed(0)
    rnn.eval()
    rebuilt = LinearRecurrent(rnn)
    x = torch.randn(4, 6, 5)
    batch = x.shape[0] if rnn.batch_first else x.shape[1]
    n = rnn.num_layers * (2 if rnn.bidirectional else 1)
    h0 = torch.randn(n, batch, getattr(rnn, "proj_size", 0) or 7)
    hx = (h0, torch.randn(n, batch, 7)) if isinstance(rnn, nn.LSTM) else h0
    with torch.no_grad():
        for args in ((x,), (x[0] if rnn.batch_first else x[:, 0],), (x, hx)):
            want, got = rnn(*args), rebuilt(*args)
            for a, b in zip(_leaves(want), _leaves(got), strict=True):
                torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5)


def _leaves(result) -> list[torch.Tensor]:
    """(output, h_n) or (output, (h_n, c_n)) as a flat list."""
    output, state = result
    return [output, *(state if isinstance(state, tuple) else (state,))]


def test_recurrent_layers_are_quantised_to_int8():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(16, 32, num_layers=2, batch_first=True, bidirectional=True)
            self.gru = nn.GRU(64, 32, batch_first=True)
            self.head = nn.Linear(32, 3)

        def forward(self, x):
            return self.head(self.gru(self.rnn(x)[0])[0])

    torch.manual_seed(0)
    model = Tagger().eval()
    x = torch.randn(8, 12, 16, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is left in float with a warning
        q = wb.compress.quantize(model)
    actions = q.compression_report.details.set_index("layer")["action"]
    assert actions["rnn"].startswith("int8: recurrent") and actions["gru"].startswith("int8")
    assert actions["head"].startswith("int8")
    assert isinstance(model.rnn, nn.LSTM)  # the original is untouched
    with torch.inference_mode():
        ref, out = model(x), q(x)
    assert out.shape == ref.shape
    assert float((out - ref).abs().max() / ref.abs().max()) < INT8_LOGIT_TOLERANCE
    report = q.compression_report.figures
    assert report["weight_mb_after"] < 0.4 * report["weight_mb_before"]  # int8, not float
    with pytest.raises(TypeError, match="takes a padded tensor"):
        q.rnn(nn.utils.rnn.pack_sequence([torch.randn(3, 16)]))
    # Quantising twice finds nothing left to do.
    with pytest.raises(QuantizationError, match="already quantised"):
        wb.compress.quantize(q)


# ---------------------------------------------------------------- prune


def test_unstructured_pruning_hits_its_sparsity_and_is_permanent(trained, task):
    p = wb.compress.prune(trained, 0.3)
    total = sum(m.weight.numel() for m in p.modules() if isinstance(m, nn.Linear))
    zeros = sum(int((m.weight == 0).sum()) for m in p.modules() if isinstance(m, nn.Linear))
    assert zeros == round(0.3 * total)  # global magnitude: exactly the amount overall
    assert p.compression_report.figures["sparsity"] == pytest.approx(zeros / total)
    assert wb.compress.sparsity(p) == pytest.approx(zeros / total)
    assert wb.compress.sparsity(trained) == 0  # the original is untouched
    # Permanent: plain weights, no masks, no hooks.
    assert not any("_orig" in k or "_mask" in k for k in p.state_dict())
    assert all(not m._forward_pre_hooks for m in p.modules())
    assert all(type(m.weight) is nn.Parameter for m in p.modules() if isinstance(m, nn.Linear))
    rel, agree, delta = compared_with(trained, p, task)
    assert agree >= PRUNE30_AGREEMENT and delta >= -PRUNE30_ACCURACY_DROP, (agree, delta)
    assert "30.0% of 4,672 weights" in p.compression_report.summary


def test_structured_pruning_removes_whole_hidden_units_but_not_outputs(trained, task):
    p = wb.compress.prune(trained, 0.25, structured=True)
    hidden, out = p.net[2].weight, p.net[4].weight
    assert int((hidden.abs().sum(dim=1) == 0).sum()) == 16  # 25% of the 64 units
    assert int((p.net[0].weight.abs().sum(dim=1) == 0).sum()) == 16
    assert int((out == 0).sum()) == 0  # the output layer's rows are the classes
    details = p.compression_report.details.set_index("layer")
    assert list(details["pruned"]) == [True, True, False]
    p20 = wb.compress.prune(trained, 0.2, structured=True)
    rel, agree, delta = compared_with(trained, p20, task)
    assert agree >= STRUCTURED20_AGREEMENT and delta >= -STRUCTURED20_ACCURACY_DROP, (agree,
                                                                                     delta)


def test_prune_bad_input():
    for amount in (0, 1, 1.5, -0.1, True, "half"):
        with pytest.raises(CompressError, match="0 < amount < 1"):
            wb.compress.prune(DemoClassifier(), amount)
    with pytest.raises(CompressError, match="only prunable layer '0' is its output layer"):
        wb.compress.prune(nn.Sequential(nn.Linear(4, 2)), 0.5, structured=True)
    with pytest.raises(CompressError, match="no Linear or Conv layer"):
        wb.compress.prune(nn.LSTM(4, 4), 0.5)
    with warnings.catch_warnings(), pytest.raises(CompressError, match="prune first, then "
                                                                       "quantise"):
        warnings.simplefilter("ignore")
        wb.compress.prune(wb.compress.quantize(DemoClassifier()), 0.5)


# ---------------------------------------------------------------- distil


def test_distillation_beats_training_the_student_alone_on_the_same_budget(trained, task):
    """Few labelled rows (200), the teacher trained on all of them: the same student, seed,
    batches, optimiser and epochs, with the teacher's soft targets (alpha 0.9) or the labels
    only (alpha 0, training alone)."""
    gains = []
    for seed in range(3):
        idx = torch.randperm(len(task.y_train), generator=torch.Generator().manual_seed(seed))
        x, y = task.x_train[idx[:200]], task.y_train[idx[:200]]
        loader = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 200, 32)]
        scores = []
        for alpha in (0.0, 0.9):
            torch.manual_seed(seed)
            student = wb.compress.distill(trained, DemoClassifier(), loader, epochs=60,
                                          temperature=2.0, alpha=alpha, seed=seed,
                                          progress=False)
            scores.append(accuracy(student, task.x_test, task.y_test))
        gains.append(scores[1] - scores[0])
    assert min(gains) > 0 and np.mean(gains) > 0.02, gains
    report = student.compression_report
    assert report.variant == "student" and len(report.details) == 60
    assert report.details["loss"].iloc[-1] < report.details["loss"].iloc[0]
    assert not student.training and trained.training is False


def test_distill_bad_input(trained):
    batch = [(torch.randn(8, 4), torch.randint(0, 5, (8,)))]
    with pytest.raises(CompressError, match=r"teacher gives \(8, 5\), the student \(8, 3\)"):
        wb.compress.distill(trained, DemoClassifier(classes=3), batch, epochs=1, progress=False)
    bad = [({"alpha": 1.5}, "alpha must be in"), ({"temperature": 0}, "temperature must be > 0"),
           ({"epochs": 0}, "epochs must be a positive int")]
    for kwargs, message in bad:
        kwargs = {"epochs": 1, **kwargs}
        with pytest.raises(CompressError, match=message):
            wb.compress.distill(trained, DemoClassifier(), batch, progress=False, **kwargs)
    with pytest.raises(CompressError, match="re-iterable"):
        wb.compress.distill(trained, DemoClassifier(), iter(batch), epochs=1, progress=False)
    with pytest.raises(CompressError, match="'features' and 'label'"):
        wb.compress.distill(trained, DemoClassifier(), [{"x": 1}], epochs=1, progress=False)


def test_distill_takes_dict_batches_and_sets_the_epoch(trained, task):
    class Batches(list):
        """The lake loader's shape: dict batches, and set_epoch(epoch) before each epoch."""
        epochs: list[int] = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

    x, y = task.x_train[:64], task.y_train[:64]
    loader = Batches([{"features": x[:32], "label": y[:32], "samples": 32},
                      {"features": x[32:], "label": y[32:], "samples": 32}])
    student = wb.compress.distill(trained, DemoClassifier(hidden=8), loader, epochs=3,
                                  progress=False)
    assert loader.epochs == [0, 1, 2]
    assert student.compression_report.details["samples"].tolist() == [64, 64, 64]


def distill_on_two_ranks(teacher_state: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Run under wb.launch: each rank distils on its shard; DDP keeps the students equal."""
    import torch.distributed as dist

    run = wb.train.current()
    teacher = DemoClassifier()
    teacher.load_state_dict(teacher_state)
    torch.manual_seed(1)
    student = DemoClassifier(hidden=16)
    xs, ys = x[run.rank::run.world_size], y[run.rank::run.world_size]
    loader = [(xs[i:i + 32], ys[i:i + 32]) for i in range(0, 96, 32)]
    wb.compress.distill(teacher, student, loader, epochs=3, progress=False)
    flat = torch.cat([p.detach().flatten() for p in student.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(run.world_size)]
    dist.all_gather(gathered, flat)
    return {"same_on_all_ranks": all(torch.equal(gathered[0], g) for g in gathered),
            "variant": student.compression_report.variant, "world_size": run.world_size}


@pytest.mark.slow
def test_distill_runs_under_launch_with_ddp(trained, task, tmp_path):
    job = wb.launch(distill_on_two_ranks, trained.state_dict(), task.x_train[:192],
                    task.y_train[:192], nprocs=2, run_dir=tmp_path / "run", runs_lake=None)
    result = job.wait(timeout=120)
    assert result == {"same_on_all_ranks": True, "variant": "student", "world_size": 2}
    metrics = job.metrics
    assert set(metrics["rank"]) == {0, 1}
    assert metrics["loss"].notna().sum() == 2 * 3 * 3  # 2 ranks x 3 epochs x 3 steps
    assert {"soft_loss", "hard_loss", "step_s"} <= set(metrics.columns)
