"""The activation guard: whether a newly trained model replaces the active one.

A retrain learns from what the user's sources brought in (publisher categories, the active
model's own confident tags), and that can be wrong: a publisher that files everything under
"Airports", a model that reinforces its own mistakes. So a new model is activated only if
it does not score worse than the active one on the examples a person labelled for their
very text, the seed set and editors' corrections (`TRUSTED_SIGNALS`).

What is compared, and why it is fair: each model's record keeps the cross-validated scores
of its own training run on its trusted rows (`TrainingReport.trusted`): out-of-fold
decisions, so neither model is scored on an example it was fitted on, and the seed set's
rows fall in the same folds in every run (`training._fold_of_rows`), so the two figures
differ by what the other examples taught, not by a reshuffle. Nothing is trained or scored
twice: the new figure comes out of the training run itself. The trusted rows differ only by
the corrections editors made in between, which join the new figure (and count against it
if the new model gets them wrong, as they should).

Imports nothing heavy: a pure function of two models' records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aggregator.classify.types import SIGNAL_EDITOR, SIGNAL_SEED, TRUSTED_SIGNALS

# How far below the active model's score a new one may fall and still be activated. Two
# runs on the same trusted rows that differ by a few weak examples move micro-F1 by a few
# thousandths either way; a drop beyond half a point is a real loss, not noise.
TOLERANCE = 0.005

TRUSTED_ROWS = "seed+corrections"


@dataclass(frozen=True)
class Decision:
    activate: bool
    note: str


def trusted_scores(metrics: dict[str, Any], counts: dict[str, Any]) -> dict[str, Any] | None:
    """A model record's cross-validated scores on its trusted rows: stored apart since
    models were guarded; for an older model trained on trusted signals only, its overall
    scores are those; else None (not comparable)."""
    trusted = metrics.get("trusted")
    if isinstance(trusted, dict) and {"micro_f1", "macro_f1"} <= set(trusted):
        return trusted
    untrusted = sum(int(n) for signal, n in counts.items() if signal not in TRUSTED_SIGNALS)
    if untrusted == 0 and {"micro_f1", "macro_f1"} <= set(metrics):
        rows = int(counts.get(SIGNAL_SEED, 0)) + int(counts.get(SIGNAL_EDITOR, 0))
        return {"rows": rows, "micro_f1": metrics["micro_f1"], "macro_f1": metrics["macro_f1"]}
    return None


def judge(
    new: dict[str, Any] | None,
    active: dict[str, Any] | None,
    active_id: int | None,
    force: bool = False,
    tolerance: float = TOLERANCE,
) -> Decision:
    """Whether a new model with trusted-row scores `new` replaces model `active_id`, whose
    scores are `active` (see `trusted_scores`); `force` activates it whatever they say."""
    if active_id is None:
        return Decision(True, "activated: no model was active")
    if new is None or active is None:
        verdict = f"activated: no scores on {TRUSTED_ROWS} to compare with #{active_id}"
        return Decision(True, verdict)
    worse = [
        f"{name} {new[key]:.3f} < {active[key]:.3f}"
        for key, name in (("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"))
        if float(new[key]) < float(active[key]) - tolerance
    ]
    if worse:
        why = f"{', '.join(worse)} on {TRUSTED_ROWS}"
        if force:
            return Decision(True, f"activated by --force over #{active_id}: {why}")
        return Decision(False, f"kept #{active_id} active: {why}")
    return Decision(
        True,
        f"activated over #{active_id}: micro-F1 {new['micro_f1']:.3f} "
        f"(was {active['micro_f1']:.3f}), macro-F1 {new['macro_f1']:.3f} "
        f"(was {active['macro_f1']:.3f}) on {TRUSTED_ROWS}",
    )
