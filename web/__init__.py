"""Biowire's web front: the digest page, the JSON API and the feeds."""
