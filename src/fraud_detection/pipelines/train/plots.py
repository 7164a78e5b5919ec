"""Evaluation plots: precision-recall and ROC curves, confusion matrix, feature importances.

Saved as PNG files by the catalog (matplotlib.MatplotlibDataset) and logged to MLflow.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve


def _figure(title: str) -> tuple[Figure, Any]:
    figure, axes = plt.subplots(figsize=(6, 4.5), dpi=100)
    axes.set_title(title)
    return figure, axes


def precision_recall_figure(scores: pd.DataFrame, metrics: dict[str, Any]) -> Figure:
    precision, recall, _ = precision_recall_curve(
        scores["label"], scores["probability"], sample_weight=scores["count"]
    )
    figure, axes = _figure(f"Precision-recall (AUPRC {metrics['auprc']:.4f})")
    axes.step(recall, precision, where="post", label="model")
    axes.axhline(metrics["baseline_auprc"], color="grey", linestyle="--", label="fraud rate")
    axes.scatter([metrics["recall"]], [metrics["precision"]], color="red", zorder=3,
                 label=f"threshold {metrics['threshold']:.3f}")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="lower left")
    return figure


def roc_figure(scores: pd.DataFrame, metrics: dict[str, Any]) -> Figure:
    false_positive, true_positive, _ = roc_curve(
        scores["label"], scores["probability"], sample_weight=scores["count"]
    )
    figure, axes = _figure(f"ROC (AUROC {metrics['auroc']:.4f})")
    axes.plot(false_positive, true_positive, label="model")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate")
    axes.legend(loc="lower right")
    return figure


def confusion_matrix_figure(metrics: dict[str, Any]) -> Figure:
    cm = metrics["confusion_matrix"]
    cells = [[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]]
    figure, axes = _figure(f"Confusion matrix at threshold {metrics['threshold']:.3f}")
    axes.imshow(cells, cmap="Blues")
    for row in range(2):
        for col in range(2):
            axes.text(col, row, f"{cells[row][col]:,}", ha="center", va="center", fontsize=14)
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["legit", "fraud"],
             yticklabels=["legit", "fraud"], xlabel="predicted", ylabel="actual")
    return figure


def feature_importance_figure(metrics: dict[str, Any]) -> Figure:
    importances = pd.Series(metrics["feature_importances"]).sort_values()
    figure, axes = _figure("Decision tree feature importances")
    axes.barh(importances.index, importances.values)
    axes.set(xlabel="importance")
    figure.tight_layout()
    return figure


def plot_evaluation(scores: pd.DataFrame, metrics: dict[str, Any]) -> dict[str, Figure]:
    """All evaluation figures, by PNG file name."""
    return {
        "precision_recall_curve.png": precision_recall_figure(scores, metrics),
        "roc_curve.png": roc_figure(scores, metrics),
        "confusion_matrix.png": confusion_matrix_figure(metrics),
        "feature_importances.png": feature_importance_figure(metrics),
    }
