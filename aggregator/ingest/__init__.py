"""Ingest: fetching feeds, parsing and sanitising them, storing their entries once, and
scheduling the next poll of each source.

The pipeline, module by module: `fetch` (httpx over aiohttp, with the SSRF guard of
`guard`) → `parse` (feedparser, `sanitize`, `urls`) in the `parse_pool` (batched by
`parse_batching`) → `refresh` (one source's story, ending in a value) → `schedule` (what
that value means for the source) → `writer` and `storage` (the one place ingest writes
SQL). `poll` runs many refreshes at once; `sources` manages the list of feeds, and
`health` tells how each one's polling stands.
"""
