"""After-store hooks: work on the articles a poll has just stored, in the transaction that
stores them. Tagging is the first; story clustering, watchlist matches and trend counters
join it the same way, each registered in one line (`service.after_store_hooks`).

A hook is given the session and the new articles (ids, the documents the classifier reads,
and the tags a parse worker already computed for some), in the order they were stored. It
runs in a savepoint of its own: if it fails, what it wrote is rolled back, the failure is
logged, and the articles stand, so a broken hook can delay its own work (tagging falls to
the pass after the poll) but never cost the poll its articles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from aggregator.classify.types import Document, TopicScore

log = logging.getLogger("biowire.hooks")


@dataclass
class StoredArticles:
    """The articles one storing transaction added."""

    ids: list[int] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    # Per article, the tags the parse worker computed with model `tagged_by`, or None.
    tags: list[Sequence[TopicScore] | None] = field(default_factory=list)
    tagged_by: int | None = None

    def __len__(self) -> int:
        return len(self.ids)


AfterStoreHook = Callable[[Session, StoredArticles], None]


def run_after_store_hooks(
    session: Session, hooks: Sequence[AfterStoreHook], articles: StoredArticles
) -> None:
    """Run `hooks` in order on `articles`, each in a savepoint; a failure is logged and
    costs only the failing hook's own writes."""
    if not articles:
        return
    for hook in hooks:
        try:
            with session.begin_nested():
                hook(session, articles)
        except Exception:
            log.exception(
                "an after-store hook failed; the articles stand without its work",
                extra={
                    "hook": getattr(hook, "__qualname__", repr(hook)),
                    "articles": len(articles),
                },
            )
