"""The models this process has loaded, one cache for everything in it that tags: the
registry's `load_classifier` (the tagging pass, `biowire evaluate`), a parse worker's
`install_model` (`aggregator.ingest.parse_pool`) and the poller (`aggregator.service`).

A model is loaded once per process, keyed by its id and a digest of its blob: ids are only
unique within one database (the tests, and a process that opens two databases, see the
same id with different blobs), and the digest keeps a blob of megabytes out of the keys.
A blob that cannot be loaded is remembered as its error, so that it is not loaded again,
and so that its id never finds another blob's classifier.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from aggregator.classify.model import Classifier
from aggregator.errors import ClassifierError

# Models kept: the active one, and a few more for a process that moves between them
# (activating a model, or a database with another model under the same id).
CAPACITY = 4

_lock = threading.Lock()
# (model id, blob digest) → the classifier, or the message of the error loading it gave;
# least recently used first.
_loaded: OrderedDict[tuple[int, str], Classifier | str] = OrderedDict()
# Each model id's digest, as last loaded: which of its blobs `held` answers for.
_latest: dict[int, str] = {}


def load(model_id: int, blob: bytes) -> Classifier:
    """Model `model_id`'s classifier, loaded from `blob` on first use. Raises
    `ClassifierError` (naming `biowire train`), and nothing else, if it cannot be loaded."""
    outcome = load_outcome(model_id, blob)
    if isinstance(outcome, ClassifierError):
        raise outcome
    return outcome


def load_outcome(model_id: int, blob: bytes) -> Classifier | ClassifierError:
    """`load`, with the error returned rather than raised."""
    key = (model_id, hashlib.sha256(blob).hexdigest())
    with _lock:
        _latest[model_id] = key[1]
        found = _loaded.get(key)
        if found is None:
            try:
                found = Classifier.from_bytes(blob, f"model {model_id}")
            except ClassifierError as error:
                found = str(error)
            _loaded[key] = found
            while len(_loaded) > CAPACITY:
                _loaded.popitem(last=False)
        _loaded.move_to_end(key)
    return found if isinstance(found, Classifier) else ClassifierError(found)


def held(model_id: int) -> Classifier | ClassifierError | None:
    """What this process last loaded as model `model_id`: its classifier, or the error
    loading it gave; None if it has not loaded that model (or has let it go since)."""
    with _lock:
        digest = _latest.get(model_id)
        found = _loaded.get((model_id, digest)) if digest is not None else None
    if found is None or isinstance(found, Classifier):
        return found
    return ClassifierError(found)


def clear() -> None:
    """Let every model go (for a test that needs a process to load its model itself)."""
    with _lock:
        _loaded.clear()
        _latest.clear()


Snapshot = tuple[list[tuple[tuple[int, str], Classifier | str]], dict[int, str]]


def snapshot() -> Snapshot:
    """What this process holds, to `restore` later (the tests put the cache back after
    each one)."""
    with _lock:
        return list(_loaded.items()), dict(_latest)


def restore(held: Snapshot) -> None:
    with _lock:
        _loaded.clear()
        _loaded.update(held[0])
        _latest.clear()
        _latest.update(held[1])
