"""Every setting Biowire reads, from `BIOWIRE_*` environment variables (or a `.env` file).

Read through `get_settings()`, which is cached; tests clear the cache after changing the
environment. Nothing reads settings at import time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BIOWIRE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///./biowire.db", description="SQLAlchemy URL of the database."
    )
    host: str = Field("127.0.0.1", description="Address the web server listens on.")
    port: int = Field(8000, description="Port the web server listens on.")
    base_url: str | None = Field(
        None, description="Public URL of the site, for links in feeds (default: from host/port)."
    )
    admin_token: str | None = Field(
        None, description="Bearer token for write endpoints; unset disables them."
    )
    allow_private_networks: bool = Field(
        False, description="Let fetches reach loopback and private addresses."
    )
    allowed_networks: str = Field(
        "",
        description="Comma-separated networks (CIDR) fetches may reach even with the guard on.",
    )

    timezone: str = Field(
        "UTC",
        description="IANA time zone (e.g. Europe/London) in which the digest's days begin "
        "and end, and its times are shown.",
    )

    cache_max_age: int = Field(
        300, ge=0, description="Seconds clients may reuse a feed or JSON response (max-age)."
    )
    response_cache_entries: int = Field(
        256,
        ge=0,
        description="Views (feeds, JSON lists, pages) each web worker remembers, "
        "with their bodies, until the data changes; 0 finds and renders every request afresh.",
    )

    # Polling.
    concurrency: int = Field(64, description="Requests in flight at once, all hosts together.")
    per_host_concurrency: int = Field(4, description="Requests in flight at once to one host.")
    min_poll_interval: int = Field(600, description="Shortest interval between polls, seconds.")
    max_poll_interval: int = Field(21600, description="Longest interval between polls, seconds.")
    max_server_interval: int = Field(
        604800, description="Longest interval a server's caching or Retry-After hints can set."
    )
    max_consecutive_failures: int = Field(
        10, description="Failures in a row after which a source is disabled."
    )
    connect_timeout: float = Field(10.0, description="Seconds to open a connection.")
    read_timeout: float = Field(20.0, description="Seconds to wait for each chunk of a body.")
    total_timeout: float = Field(60.0, description="Seconds for one whole fetch.")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, description="Largest feed body accepted, after decompression."
    )
    max_redirects: int = Field(5, description="Redirects followed before giving up.")
    scheduler_tick: int = Field(60, description="Seconds between checks for due sources.")

    # Classification.
    retag_days: int = Field(30, description="Days of articles retagged when a model is activated.")
    retrain_hours: float = Field(
        168,
        ge=0,
        description="While serving, retrain (with the activation guard) when the newest model "
        "is this many hours old; 0 never retrains on a schedule.",
    )

    fast_paths: bool = Field(
        True,
        description="Take Biowire's fast paths through feedparser, scikit-learn, SQLAlchemy "
        "and httpx (each gives the library's exact results); 0 runs the libraries as shipped.",
    )

    log_level: str = Field("INFO", description="Logging level.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown time zone {name!r}: give an IANA name such as UTC or Europe/Paris"
            ) from error
        return name

    @property
    def zone(self) -> ZoneInfo:
        """`timezone` as a zone, the digest's days and times are in. (`ZoneInfo` keeps
        the zones it has read: no file is read twice. Not cached here, where a copy of
        these settings with another `timezone` would keep this one's zone.)"""
        return ZoneInfo(self.timezone)

    @property
    def public_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def environment(self) -> dict[str, str | None]:
        """These settings as the variables that give them to a new process, which reads
        them with `get_settings()` (a server's workers, say); None: the variable unset."""
        prefix = self.model_config.get("env_prefix", "")
        return {
            f"{prefix}{name}".upper(): value if value is None or isinstance(value, str)
            else json.dumps(value)
            for name, value in self.model_dump(mode="json").items()
        }  # fmt: skip


@lru_cache
def get_settings() -> Settings:
    return Settings()
