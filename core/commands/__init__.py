"""CLI command modules; each exposes ``register(subparsers)``.

Order here is the order in ``edgerestore --help``.
"""

from edgerestore.commands import (
    add_noise,
    compare,
    demo,
    denoise,
    evaluate,
    export,
    generate,
    macs,
    map_check,
    restore,
    samples,
    train,
)

COMMAND_MODULES = [
    demo, train, evaluate, export, denoise, restore, generate, map_check, macs, samples,
    add_noise, compare,
]
