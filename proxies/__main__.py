"""``python -m proxies <fetch|check|list|stats|serve|judge> [options]``: the pool on its own."""

from proxies.cli import main

raise SystemExit(main())
