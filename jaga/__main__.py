"""Allow `python -m jaga`, the same as the `jaga` console script."""

from jaga.cli import main

raise SystemExit(main())
