import sys

from charterdesk.cli import main

sys.exit(main())
