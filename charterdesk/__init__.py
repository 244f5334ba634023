"""Charterdesk: a help desk that runs on your customer service protocol."""

__version__ = "0.1.0"
