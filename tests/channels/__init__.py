"""Tests of the channels app."""
