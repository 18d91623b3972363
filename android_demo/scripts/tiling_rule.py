"""Write web/models/tiling.json: the tiling rule of ``edgerestore.runtime.tiling`` as data.

The pages tile images exactly as the Python runtime does (halo discarded on sides that
face another tile, then a linear cross-fade over ``blend`` pixels). So that there is
one definition, the page takes its constant (the blend width) from this file, and the
file also carries the rule evaluated by Python (tile origins and 1-D weight ramps for a
set of cases), which the browser tests compare with the page's plan. The halo is
per model: ``receptive_field // 2``, as ``ExportedDenoiser`` computes it; so is the
alignment of tile origins (the card's ``tile_align``), whose cases (fixed tiles keep
the last one flush, dynamic ones end it at an aligned origin, up to ``align - 1``
pixels longer) are in ``ALIGNED``.

usage: tiling_rule.py OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edgerestore.runtime import tiling
from edgerestore.runtime.exported_denoiser import DEFAULT_MAX_TILE

#: (length, tile, halo, blend) cases the browser tests re-plan: small, fixed-tile and
#: 12-megapixel-sized axes, with and without blending.
CASES = [(100, 256, 17, 16), (256, 256, 17, 16), (257, 256, 17, 16), (1000, 256, 17, 16),
         (4000, 256, 17, 16), (3000, 256, 10, 16), (777, 64, 8, 0), (130, 48, 17, 0)]
#: (length, tile, halo, blend, align, fixed): the real-noise model's halo 42 and align 2
#: on odd and even axes, fixed and dynamic, and a wider alignment (R3's period 32).
ALIGNED = [(301, 160, 42, 16, 2, False), (301, 256, 42, 16, 2, True), (4000, 256, 42, 16, 2, True),
           (3001, 512, 42, 16, 2, False), (190, 256, 42, 16, 2, True), (1001, 256, 42, 16, 32, False),
           (1001, 256, 42, 16, 32, True), (4003, 512, 20, 16, 4, False)]


def main() -> None:
    cases = []
    for length, tile, halo, blend in CASES:
        plan = tiling.TilePlan(length, length, min(tile, length), min(tile, length), halo, blend)
        starts = plan.starts(length, plan.tile_h)
        size = plan.tile_h
        ramps = {
            f"{int(a)}{int(b)}": tiling._ramp(size, a, b, halo, blend).tolist()
            for a, b in ((False, False), (True, False), (False, True), (True, True))
        }
        cases.append({"length": length, "tile": tile, "halo": halo, "blend": blend,
                      "starts": starts, "ramps": ramps})
    aligned = []
    for length, tile, halo, blend, align, fixed in ALIGNED:
        plan = tiling.TilePlan(length, length, min(tile, length), min(tile, length), halo, blend,
                               align, fixed)
        aligned.append({"length": length, "tile": tile, "halo": halo, "blend": blend,
                        "align": align, "fixed": fixed,
                        "spans": [list(s) for s in plan.spans(length, plan.tile_h)]})
    rule = {"source": "edgerestore.runtime.tiling", "default_blend": tiling.DEFAULT_BLEND,
            "max_tile": DEFAULT_MAX_TILE, "halo": "receptive_field // 2", "cases": cases,
            "aligned": aligned}
    Path(sys.argv[1]).write_text(json.dumps(rule) + "\n")


if __name__ == "__main__":
    main()
