"""Allow `python -m bot`, the same as the `jaga` console script."""

from bot.cli import main

raise SystemExit(main())
