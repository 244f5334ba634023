"""Tests of the library app."""
