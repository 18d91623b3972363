"""Write web/models/tiling.json: the tiling rule of ``edgerestore.runtime.tiling`` as data.

The pages tile images exactly as the Python runtime does (halo discarded on sides that
face another tile, then a linear cross-fade over ``blend`` pixels). So that there is
one definition, the page takes its constant (the blend width) from this file, and the
file also carries the rule evaluated by Python (tile origins and 1-D weight ramps for a
set of cases), which the browser tests compare with the page's plan. The halo is
per model: ``receptive_field // 2``, as ``ExportedDenoiser`` computes it.

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
    rule = {"source": "edgerestore.runtime.tiling", "default_blend": tiling.DEFAULT_BLEND,
            "max_tile": DEFAULT_MAX_TILE, "halo": "receptive_field // 2", "cases": cases}
    Path(sys.argv[1]).write_text(json.dumps(rule) + "\n")


if __name__ == "__main__":
    main()
