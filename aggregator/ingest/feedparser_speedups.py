"""Faster paths through feedparser's hottest helpers, each giving exactly the result of the
code it bypasses. `install()` puts them in place and `uninstall()` puts feedparser's own
back. Only the parse workers install them, as they start with the fast paths on
(`aggregator.ingest.parse_pool.start_worker`); importing this module changes nothing, so
anywhere else feedparser runs as shipped.

A poll parses thousands of feeds, and profiles of it showed feedparser spending much of
its time not parsing but in three helpers called for every element: joining the same URLs
again and again, deep-copying small dicts by pickling's reduce protocol, and looking keys
up through its dict's alias mapping. Each tuning checks that the helper it replaces is the
one it was written against and otherwise does nothing (a test says so, so that an upgrade
of feedparser that moves one is noticed).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import feedparser
import feedparser.mixin
import feedparser.urls
from feedparser import FeedParserDict

# The keys FeedParserDict computes or looks up under another name (feedparser 6.0).
_COMPUTED_KEYS = frozenset({"category", "enclosures", "license", "updated", "updated_parsed"})
# feedparser's own helpers as it ships them, for `uninstall`.
_ORIGINAL_URLJOIN: Any = getattr(feedparser.urls, "_urljoin", None)
_ORIGINAL_GETITEM = FeedParserDict.__getitem__
_ORIGINAL_GET = FeedParserDict.get
# The cached join, made once: its cache outlives an uninstall and install.
_cached_urljoin: Callable[..., Any] | None = None


def install() -> None:
    """Put every faster path in place (again, it changes nothing)."""
    _memoise_urljoin()
    _deep_copy_directly()
    _look_keys_up_directly()


def uninstall() -> None:
    """Put back feedparser's own helpers, exactly as it ships them."""
    if _cached_urljoin is not None:
        if feedparser.urls._urljoin is _cached_urljoin:
            feedparser.urls._urljoin = _ORIGINAL_URLJOIN
        if getattr(feedparser.mixin, "_urljoin", None) is _cached_urljoin:
            feedparser.mixin._urljoin = _ORIGINAL_URLJOIN
    if vars(FeedParserDict).get("__deepcopy__") is _deep_copy:
        del FeedParserDict.__deepcopy__
    if FeedParserDict.__getitem__ is _getitem:
        FeedParserDict.__getitem__ = _ORIGINAL_GETITEM
    if FeedParserDict.get is _get:
        FeedParserDict.get = _ORIGINAL_GET


def _memoise_urljoin() -> None:
    """Cache feedparser's URL join, a pure function of its two strings.

    As it parses, feedparser joins the base URL in scope to every element's own base (its
    xml:base, or else the same base again) and to every link and id: much of its time on a
    typical feed is spent joining the same pairs of strings over and over.
    """
    global _cached_urljoin
    original = getattr(feedparser.urls, "_urljoin", None)
    if original is None or original is not _ORIGINAL_URLJOIN:
        return
    if _cached_urljoin is None:
        _cached_urljoin = functools.lru_cache(maxsize=4096)(original)
    feedparser.urls._urljoin = _cached_urljoin  # the join `make_safe_absolute_uri` calls
    if getattr(feedparser.mixin, "_urljoin", None) is original:
        feedparser.mixin._urljoin = _cached_urljoin  # the parser's own imported name for it


def _deep_copy(self: FeedParserDict, memo: dict[int, Any]) -> FeedParserDict:
    copied = type(self)()
    memo[id(self)] = copied
    for key, value in dict.items(self):
        dict.__setitem__(copied, key, copy.deepcopy(value, memo))
    return copied


def _deep_copy_directly() -> None:
    """Give feedparser's dict a `__deepcopy__` that copies it as the dict it is.

    feedparser deep-copies the parameters of every title and summary it reads (type,
    language, base: a handful of strings); without this method, `copy.deepcopy` takes its
    generic path for a dict subclass, pickling's reduce protocol, at a cost a profile of
    parsing shows. The copy is the same: the keys were mapped when first set, so they are
    copied as they are.
    """
    if "__deepcopy__" not in vars(FeedParserDict):
        FeedParserDict.__deepcopy__ = _deep_copy


def _getitem(self: FeedParserDict, key: Any) -> Any:
    if key in _COMPUTED_KEYS or key in FeedParserDict.keymap:
        return _ORIGINAL_GETITEM(self, key)
    return dict.__getitem__(self, key)


def _get(self: FeedParserDict, key: Any, default: Any = None) -> Any:
    if key in _COMPUTED_KEYS or key in FeedParserDict.keymap:
        try:
            return _ORIGINAL_GETITEM(self, key)
        except KeyError:
            return default
    return dict.get(self, key, default)


def _look_keys_up_directly() -> None:
    """Look up a key that is neither computed nor an alias as a plain dict does.

    feedparser's `__getitem__` tests every key against its computed keys and its alias map
    before it gets to the dict, and the parser itself reads its element parameters through
    it many times an element. For any other key the answer is the dict's own. Applied only
    to the `__getitem__` it was written against (feedparser 6.0's), whose computed keys
    are `_COMPUTED_KEYS`.
    """
    if FeedParserDict.__getitem__ is not _ORIGINAL_GETITEM or not _written_against(feedparser):
        return
    FeedParserDict.__getitem__ = _getitem
    FeedParserDict.get = _get


def _written_against(module: Any) -> bool:
    return str(getattr(module, "__version__", "")).startswith("6.0.")


def is_tuned() -> bool:
    """Whether every faster path is in place (for a test)."""
    return (
        hasattr(feedparser.urls._urljoin, "cache_info")
        and feedparser.mixin._urljoin is feedparser.urls._urljoin
        and "__deepcopy__" in vars(FeedParserDict)
        and FeedParserDict.__getitem__ is _getitem
        and FeedParserDict.get is _get
    )
