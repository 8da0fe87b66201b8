"""Biowire's data model: the ORM classes, the engine/session factory and the queries.

`models` depends on nothing else in the project; `aggregator` and `web` build on it.
"""

from models.base import Base
from models.db import make_engine, make_session_factory, session_scope
from models.entities import (
    Article,
    ArticleSource,
    ArticleTopic,
    ClassifierModel,
    Correction,
    Source,
    Topic,
    TopicDailyCount,
)

__all__ = [
    "Article",
    "ArticleSource",
    "ArticleTopic",
    "Base",
    "ClassifierModel",
    "Correction",
    "Source",
    "Topic",
    "TopicDailyCount",
    "make_engine",
    "make_session_factory",
    "session_scope",
]
