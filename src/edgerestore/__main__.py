"""Allow ``python -m edgerestore``."""

from edgerestore.cli import main

raise SystemExit(main())
