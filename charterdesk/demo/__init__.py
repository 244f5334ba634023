"""The demo: the example protocol (a copy of the shared spec's example) and its people."""

from pathlib import Path

EXAMPLE_PROTOCOL = Path(__file__).with_name("acme-outdoor.protocol.yaml")
