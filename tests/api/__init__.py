"""Tests of the api app."""
