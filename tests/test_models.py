"""The demo task and models: the demo model learns, the transformer counts its FLOPs right."""

import torch

from workbench.models import DemoClassifier, TransformerClassifier, accuracy, fit, gapminder_task


def test_demo_model_learns_well_above_chance():
    task = gapminder_task(seed=0)
    assert len(task.y_train) + len(task.y_test) == 1704 and len(task.classes) == 5
    model = fit(DemoClassifier(), task, epochs=30)
    assert accuracy(model, task.x_test, task.y_test) > task.chance + 0.3


def test_transformer_flops_match_a_count_of_its_matmuls():
    model = TransformerClassifier(in_features=8, classes=3, d_model=16, nhead=2, layers=1,
                                  dim_feedforward=32)
    seq = 5
    macs = seq * 8 * 16 + seq * (4 * 16 * 16 + 2 * 16 * 32) + 2 * seq * seq * 16 + 16 * 3
    assert model.flops_per_sample(seq) == 6 * macs
    assert model(torch.randn(2, seq, 8)).shape == (2, 3)
