// The real-noise model's input blend, ported from the Python runtime
// (src/edgerestore/runtime/input_blend.py and sigma_estimate.py): AP-BSN's
// pixel-shuffle costs fine detail, which on a photo with little noise outweighs the
// noise it removes, so part of the input is kept: out = noisy + w (denoised - noisy),
// with w read off the card's table of (noise level 0-255, weight) pairs by linear
// interpolation (the end values beyond it), the level being the image's noise measured
// with the wavelet MAD estimator on the stride-2 sub-images. One weight for the whole
// image (measured on the whole input), applied after tiling.

/** Phi^-1(3/4): median(|HH|) / this estimates a Gaussian sigma. */
const MAD_TO_SIGMA = 0.6744897501960817;
/** Sub-image stride for spatially correlated (camera) noise (CORRELATED_NOISE_STRIDE). */
export const CORRELATED_NOISE_STRIDE = 2;

/** Median of a Float64Array (sorted in place); the mean of the two middle values for even n. */
function median(a) {
  a.sort();
  const n = a.length;
  return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

/**
 * estimate_sigma(image, stride) of a tile source (tiling.js: {c, h, w, read(top, left,
 * th, tw)}): the finest diagonal Haar band of the stride-s sub-images image[a::s, b::s],
 * all s^2 of them pooled, median(|HH|) / 0.6745 per channel, then the median over the
 * channels; in [0, 1] units. Computed in float64 from the source's float32 values, as
 * numpy does; the source is read in bands, one channel's coefficients in memory at a time.
 */
export function estimateSigma(src, stride = 1) {
  const { c, h, w } = src;
  const s = stride;
  if (!Number.isInteger(s) || s < 1) throw new Error(`stride must be a positive integer, got ${stride}`);
  if (h < 4 * s || w < 4 * s) throw new Error(`image too small to estimate noise (${h}x${w})`);
  // Sub-image (a, b) has ceil((h - a) / s) rows, cropped to even; its coefficient (i, j)
  // reads image rows a + 2si and a + 2si + s, columns b + 2sj and b + 2sj + s.
  const even = (n) => n - (n % 2);
  const rowsOf = (a) => even(Math.ceil((h - a) / s)) / 2;
  const colsOf = (b) => even(Math.ceil((w - b) / s)) / 2;
  let count = 0;
  for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) count += rowsOf(a) * colsOf(b);
  const block = 2 * s; // coefficient row i of every (a, b) lies in image rows [2si, 2si + 2s)
  const blocksPerBand = Math.max(1, Math.floor(65536 / (w * block)));
  const perChannel = [];
  for (let ch = 0; ch < c; ch++) {
    const coef = new Float64Array(count);
    let k = 0;
    const maxI = rowsOf(0);
    for (let i0 = 0; i0 < maxI; i0 += blocksPerBand) {
      const top = i0 * block;
      const rows = Math.min(blocksPerBand * block, h - top);
      const band = src.read(top, 0, rows, w);
      const plane = band.subarray(ch * rows * w, (ch + 1) * rows * w);
      for (let a = 0; a < s; a++) {
        const iEnd = Math.min(rowsOf(a), i0 + blocksPerBand);
        for (let i = i0; i < iEnd; i++) {
          const r0 = (a + 2 * s * i - top) * w, r1 = r0 + s * w;
          for (let b = 0; b < s; b++) {
            const nj = colsOf(b);
            for (let j = 0; j < nj; j++) {
              const x = b + 2 * s * j;
              const hh = (plane[r0 + x] - plane[r0 + x + s] - plane[r1 + x] + plane[r1 + x + s]) / 2;
              coef[k++] = Math.abs(hh);
            }
          }
        }
      }
    }
    if (k !== count) throw new Error(`estimateSigma: ${k} coefficients, expected ${count}`);
    perChannel.push(median(coef) / MAD_TO_SIGMA);
  }
  return median(Float64Array.from(perChannel));
}

/** The weight of the denoised image at noise `level` (0-255): numpy.interp on the table. */
export function blendWeight(level, table) {
  const n = table.length;
  if (level <= table[0][0]) return table[0][1];
  if (level >= table[n - 1][0]) return table[n - 1][1];
  for (let i = 1; i < n; i++) {
    const [x1, y1] = table[i];
    if (level <= x1) {
      const [x0, y0] = table[i - 1];
      return y0 + ((level - x0) * (y1 - y0)) / (x1 - x0);
    }
  }
  return table[n - 1][1];
}

/** {level (0-255), weight} of a source for a card's input_blend table. */
export function measureBlend(src, table) {
  const level = estimateSigma(src, CORRELATED_NOISE_STRIDE) * 255;
  return { level, weight: blendWeight(level, table) };
}

/**
 * A sink that blends rows into `sink` before passing them on: noisy + weight (denoised
 * - noisy), the noisy rows read again from `src`; weight >= 1 passes rows through.
 */
export function blendingSink(sink, src, weight) {
  if (weight >= 1) return sink;
  const wf = Math.fround(weight);
  return {
    start: (c, h, w) => sink.start?.(c, h, w),
    write(y0, part) {
      const noisy = src.read(y0, 0, part.h, part.w);
      const d = part.data;
      for (let i = 0; i < d.length; i++) d[i] = noisy[i] + Math.fround(wf * Math.fround(d[i] - noisy[i]));
      sink.write(y0, part);
    },
    get image() { return sink.image; },
  };
}
