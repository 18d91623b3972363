"""CLI command modules; each exposes ``register(subparsers)``.

Order here is the order in ``edgerestore --help``.
"""

from edgerestore.commands import add_noise, compare, demo, samples

COMMAND_MODULES = [demo, samples, add_noise, compare]
