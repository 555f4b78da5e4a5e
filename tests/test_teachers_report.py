"""The labels report: agreement numbers by hand, markdown and figure written."""

from __future__ import annotations

import numpy as np
import pytest

from msl_core.teachers.report import LabelsReport, label_rates, tagger_agreement


def test_agreement_by_hand():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.7], [0.1, 0.2]], np.float32)
    truth = np.array([[1, 0], [0, 1], [0, 1], [1, 0]], np.float32)
    table = tagger_agreement(scores, truth, ["a", "b"], threshold=0.3).set_index("category")
    # a: predicted rows {0, 2}, true rows {0, 3}: tp 1 -> precision 1/2, recall 1/2; AUC: pos (0.9, 0.1) vs neg (0.2, 0.6)
    assert table.loc["a", ["precision", "recall", "f1"]].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert table.loc["a", "auc"] == pytest.approx(0.5)
    assert table.loc["b", ["precision", "recall", "auc"]].tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_rates_markdown_and_figure(tmp_path):
    audio = np.array([[1, 0], [0.8, 0.2]], np.float32)
    rates = label_rates(audio, audio[:, ::-1], ["a", "b"])
    assert rates["audio_rate"].tolist() == [1.0, 0.0] and rates["visual_rate"].tolist() == [0.0, 1.0]
    agreement = {"classes": tagger_agreement(audio, audio > 0.5, ["a", "b"], 0.3)}
    report = LabelsReport("demo", "audio from tags", rates, agreement)
    assert "## Audio tagger vs. the true sounding tags (classes)" in report.markdown()
    report.figure(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000
