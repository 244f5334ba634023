"""Tests of the tickets app."""
