"""Classifier benchmark on Reuters-21578 (ModApte): the product's pipeline against a plain
scikit-learn reference, trained and scored in the same run.

    python -m bench.classify [--runs 3] [--data PATH] [--json]

- product: `aggregator.classify.evaluation.evaluate_rows`, i.e. exactly the training code of
  `biowire train` / `biowire evaluate` (headline = first line of the story);
- reference: TfidfVectorizer(sublinear_tf, 1–2-grams, min_df=2) + OneVsRest(LinearSVC) on the
  whole text, a label wherever its score is > 0.

Both train on the train split only and are scored once on the test split; nothing is chosen
by looking at test scores. With several runs, each figure is the median.

The data set is not part of the repository (its licence allows research use only); it is read
from `../shared/bench/reuters21578.jsonl` next to the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from aggregator.classify.evaluation import Row, evaluate_rows, read_rows
from aggregator.classify.model import Classifier

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared" / "bench" / "reuters21578.jsonl"


def run_reference(rows: list[Row]) -> dict[str, float]:
    train_rows = [r for r in rows if r.split == "train"]
    test_rows = [r for r in rows if r.split == "test"]

    def whole(row: Row) -> str:
        return f"{row.title}\n{row.text}"

    binarizer = MultiLabelBinarizer()
    y_train = binarizer.fit_transform([r.labels for r in train_rows])
    known = set(binarizer.classes_)
    y_test = binarizer.transform([[lb for lb in r.labels if lb in known] for r in test_rows])
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    model = OneVsRestClassifier(LinearSVC())
    model.fit(vectorizer.fit_transform([whole(r) for r in train_rows]), y_train)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scores = model.decision_function(vectorizer.transform([whole(r) for r in test_rows]))
    predicted = (np.asarray(scores) > 0).astype(int)
    predict_seconds = time.perf_counter() - started
    return {
        "micro_f1": float(f1_score(y_test, predicted, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro", zero_division=0)),
        "train_seconds": train_seconds,
        "predict_docs_per_second": len(test_rows) / predict_seconds,
    }


def run_product(rows: list[Row]) -> dict[str, Any]:
    def no_active_model() -> Classifier:
        raise AssertionError("the benchmark file has train rows")

    evaluation = evaluate_rows(rows, no_active_model)
    assert evaluation.train_seconds is not None and evaluation.training is not None
    fallback = evaluation.training.params.get("fallback")
    return {
        "micro_f1": evaluation.micro_f1,
        "macro_f1": evaluation.macro_f1,
        "train_seconds": evaluation.train_seconds,
        "predict_docs_per_second": evaluation.predict_docs_per_second,
        "cv_micro_f1": evaluation.training.micro_f1,
        "cv_macro_f1": evaluation.training.macro_f1,
        # The cut of the at-least-one-topic rule as training's own cross-validation set it;
        # NaN when it left the rule off.
        "fallback": float("nan") if fallback is None else fallback,
        "labels_with_f1_zero": sum(
            1 for s in evaluation.per_label.values() if s.precision == 0 and s.recall == 0
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=1, help="report the median of RUNS runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no benchmark data at {args.data}", file=sys.stderr)
        return 2
    rows = read_rows(args.data)
    runs: dict[str, list[dict[str, Any]]] = {"product": [], "reference": []}
    for number in range(1, args.runs + 1):
        runs["product"].append(run_product(rows))
        runs["reference"].append(run_reference(rows))
        if not args.json:
            print(f"run {number}/{args.runs}: " + "; ".join(
                f"{name} micro {r[-1]['micro_f1']:.4f} macro {r[-1]['macro_f1']:.4f} "
                f"train {r[-1]['train_seconds']:.1f} s "
                f"predict {r[-1]['predict_docs_per_second']:,.0f} docs/s"
                for name, r in runs.items()
            ), file=sys.stderr, flush=True)  # fmt: skip
    medians = {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in runs.items()
    }
    machine = f"{os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"
    if args.json:
        for figures in medians.values():  # JSON has no NaN: a rule left off is null
            figures.update({k: None for k, v in figures.items() if v != v})
        print(json.dumps({"runs": args.runs, "machine": machine, **medians}, indent=2))
        return 0
    n_train = sum(r.split == "train" for r in rows)
    print(f"Reuters-21578 ModApte: {n_train} train / {len(rows) - n_train} test stories; "
          f"median of {args.runs} run(s); {machine}")  # fmt: skip
    print(f"{'':10} {'micro-F1':>9} {'macro-F1':>9} {'train s':>8} {'predict docs/s':>15}")
    for name, m in medians.items():
        print(f"{name:10} {m['micro_f1']:9.4f} {m['macro_f1']:9.4f} {m['train_seconds']:8.1f} "
              f"{m['predict_docs_per_second']:15,.0f}")  # fmt: skip
    product = medians["product"]
    print(f"product cross-validated on the train split: micro {product['cv_micro_f1']:.4f}, "
          f"macro {product['cv_macro_f1']:.4f}; labels with F1 0 on test: "
          f"{product['labels_with_f1_zero']:.0f} of 90")  # fmt: skip
    fallback = product["fallback"]
    decision = "off" if math.isnan(fallback) else f"on, margin within {-fallback:.3f} of a cut"
    print(f"at-least-one-topic fallback chosen by that cross-validation: {decision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
