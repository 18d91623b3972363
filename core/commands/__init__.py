"""CLI command modules; each exposes ``register(subparsers)``.

Order here is the order in ``edgerestore --help``.
"""

from edgerestore.commands import (
    add_noise,
    compare,
    demo,
    evaluate,
    macs,
    restore,
    samples,
    train,
)

COMMAND_MODULES = [demo, train, evaluate, restore, macs, samples, add_noise, compare]
