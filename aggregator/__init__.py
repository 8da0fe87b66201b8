"""Biowire's pipeline: fetch → parse → store → classify, and the `biowire` command."""

__version__ = "0.1.0"
PRODUCT_URL = "https://github.com/biowire/biowire"
