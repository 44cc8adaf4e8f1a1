"""`python -m sync.hub`: the service entry point, with the same flags as `intake hub serve`."""

import sys

from sync.cli import main_hub_serve

raise SystemExit(main_hub_serve(sys.argv[1:]))
