"""Tests of the surveys app."""
