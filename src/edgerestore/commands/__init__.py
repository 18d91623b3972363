"""CLI command modules; each exposes ``register(subparsers)``.

Order here is the order in ``edgerestore --help``.
"""

from edgerestore.commands import (
    adapt,
    add_noise,
    bench,
    compare,
    demo,
    denoise,
    evaluate,
    export,
    generate,
    macs,
    map_check,
    models,
    restore,
    samples,
    train,
)

COMMAND_MODULES = [
    demo, train, adapt, evaluate, export, denoise, restore, models, generate, map_check, macs,
    bench, samples, add_noise, compare,
]
