"""Tests of the desk as a whole: the command line, the page and API permission matrices, the
queries each page makes, and the rule that every do_* is an audited action."""
