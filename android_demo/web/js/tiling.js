// Tile-by-tile inference with the Python runtime's rule (edgerestore.runtime.tiling):
// each tile carries a halo of receptive_field // 2 pixels that is discarded on sides
// facing another tile, and neighbouring tiles' kept parts overlap by `blend` more
// pixels where they are cross-faded linearly; fixed-shape models get images smaller
// than their tile reflect-padded (as numpy.pad) and cropped back. The blend width
// comes from models/tiling.json, which scripts/tiling_rule.py writes from the Python
// module together with the plans the browser tests compare against these functions.
//
// Memory stays bounded for any photo size: tiles are read from a source on demand and
// the weighted sum is kept for one band of tile rows only; finished rows go to a sink
// (an RGBA buffer for full-resolution photos, or a float image for small ones). The
// weights are products of 1-D ramps over a full grid of tiles, so their per-pixel sum
// is the product of two 1-D sums and needs no image-sized weight plane.

/**
 * Let the page handle input and repaint (progress bar, Cancel) between tiles: WASM
 * inference runs on the main thread and its promises resolve as microtasks, which
 * never give the event loop a turn. A message round trip is not clamped like
 * setTimeout(0) is.
 */
export function yieldToEventLoop() {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { ch.port1.close(); resolve(); };
    ch.port2.postMessage(null);
  });
}

/**
 * Tile origins along one axis (TilePlan.starts): evenly stepped by a multiple of
 * `align`; the last flush with the end (fixed tiles, or align 1) or, for a
 * dynamic-shape model, at the aligned origin below that (its tile then runs to the end,
 * up to align - 1 pixels longer). Networks that are not shift-invariant by one pixel
 * (AP-BSN's pixel-shuffle, the card's tile_align) need aligned origins.
 */
export function tileStarts(length, tile, halo, blend, align = 1, fixed = false) {
  if (length <= tile) return [0];
  let step = tile - 2 * halo - blend;
  step -= step % align;
  if (step < 1) {
    throw new Error(`tile ${tile} is too small for a halo of ${halo} pixels and a blend of ${blend}`
      + (align > 1 ? ` at origins that are multiples of ${align}` : ""));
  }
  const out = [];
  for (let s = 0; s < length - tile; s += step) out.push(s);
  const end = length - tile;
  const last = fixed ? end : end - (end % align);
  if (last !== out[out.length - 1]) out.push(last);
  return out;
}

/** [origin, size] of the tiles along one axis (TilePlan.spans): the last runs to the end. */
export function tileSpans(length, tile, halo, blend, align = 1, fixed = false) {
  const starts = tileStarts(length, tile, halo, blend, align, fixed);
  return starts.map((s, i) => [s, i < starts.length - 1 ? tile : length - s]);
}

/** 1-D weights of a tile: 0 on a discarded halo, a linear ramp, then 1 (float32). */
export function tileRamp(length, startInner, endInner, halo, blend) {
  const w = new Float32Array(length).fill(1);
  const ramp = Float32Array.from({ length: blend }, (_, i) => Math.fround((i + 1) / (blend + 1)));
  if (startInner) {
    w.fill(0, 0, halo);
    for (let i = 0; i < blend; i++) w[halo + i] = ramp[i];
  }
  if (endInner) {
    w.fill(0, length - halo, length);
    for (let i = 0; i < blend; i++) w[length - halo - blend + i] = ramp[blend - 1 - i];
  }
  return w;
}

/** numpy.pad's index map for `reflect` (edge not repeated) or `symmetric` (repeated). */
export function padIndex(i, n, symmetric) {
  if (i >= 0 && i < n) return i;
  if (n === 1) return 0;
  const period = symmetric ? 2 * n : 2 * (n - 1);
  const j = ((i % period) + period) % period;
  if (j < n) return j;
  return symmetric ? period - 1 - j : period - j;
}

/** A source reading tiles of a planar float image {c, h, w, data}. */
export function imageSource(img) {
  return {
    c: img.c, h: img.h, w: img.w,
    read(top, left, th, tw, rowOf = (y) => y, colOf = (x) => x) {
      const out = new Float32Array(img.c * th * tw);
      for (let ch = 0; ch < img.c; ch++) {
        for (let y = 0; y < th; y++) {
          const row = (ch * img.h + rowOf(top + y)) * img.w;
          const o = (ch * th + y) * tw;
          for (let x = 0; x < tw; x++) out[o + x] = img.data[row + colOf(left + x)];
        }
      }
      return out;
    },
  };
}

/** A source reading tiles of RGBA bytes (a decoded photo) as 3-channel floats in [0, 1]. */
export function rgbaSource(rgba, h, w) {
  return {
    c: 3, h, w,
    read(top, left, th, tw, rowOf = (y) => y, colOf = (x) => x) {
      const out = new Float32Array(3 * th * tw);
      const n = th * tw;
      for (let y = 0; y < th; y++) {
        const row = rowOf(top + y) * w;
        for (let x = 0; x < tw; x++) {
          const p = 4 * (row + colOf(left + x));
          const o = y * tw + x;
          out[o] = rgba[p] / 255;
          out[n + o] = rgba[p + 1] / 255;
          out[2 * n + o] = rgba[p + 2] / 255;
        }
      }
      return out;
    },
  };
}

/** A sink collecting the output into one planar float image (for small images). */
export function imageSink() {
  const sink = {
    image: null,
    write(y0, part) {
      if (!sink.image) throw new Error("imageSink: start() was not called");
      const { c, h, w } = sink.image;
      for (let ch = 0; ch < c; ch++) {
        sink.image.data.set(part.data.subarray(ch * part.h * w, (ch + 1) * part.h * w), (ch * h + y0) * w);
      }
    },
    start(c, h, w) { sink.image = { c, h, w, data: new Float32Array(c * h * w) }; },
  };
  return sink;
}

/**
 * Run `fn` (tile {c, h, w, data} -> promise of an output tile of the same h, w) over
 * `src` with the runtime's rule; finished rows go to sink.write(y0, {c, h, w, data}).
 * opts: {tile: [th, tw], halo, blend, align (tile origins multiples of it, default 1),
 * fixed, onTile(done, total), signal (AbortSignal)}.
 */
export async function runTiledStream(src, fn, sink, opts) {
  const { halo, blend, fixed = false, align = 1, onTile = null, signal = null } = opts;
  const [th, tw] = opts.tile;
  const { h, w } = src;
  // Fixed-shape models: pad to the tile as run_tiled does (reflect, or symmetric when
  // the pad is not smaller than the image), then crop the output back.
  const H = fixed ? Math.max(h, th) : h;
  const W = fixed ? Math.max(w, tw) : w;
  const symmetric = !(H - h < h && W - w < w);
  const rowOf = (y) => padIndex(y, h, symmetric);
  const colOf = (x) => padIndex(x, w, symmetric);
  const tileH = Math.min(th, H), tileW = Math.min(tw, W);
  const ys = tileSpans(H, tileH, halo, blend, align, fixed);
  const xs = tileSpans(W, tileW, halo, blend, align, fixed);
  const wys = ys.map(([t, n]) => tileRamp(n, t > 0, t + n < H, halo, blend));
  const wxs = xs.map(([l, n]) => tileRamp(n, l > 0, l + n < W, halo, blend));
  const sumY = new Float32Array(H), sumX = new Float32Array(W);
  ys.forEach(([t, n], i) => { for (let y = 0; y < n; y++) sumY[t + y] += wys[i][y]; });
  xs.forEach(([l, n], j) => { for (let x = 0; x < n; x++) sumX[l + x] += wxs[j][x]; });
  const bandH = Math.max(...ys.map(([, n]) => n)); // rows of the band buffer
  const total = ys.length * xs.length;
  let done = 0;
  let acc = null, cOut = 0, bufTop = 0;

  const emit = (from, to) => { // rows [from, to) of the band buffer are final
    const y1 = Math.min(to, h);
    if (y1 <= from) return;
    const rows = y1 - from;
    const part = { c: cOut, h: rows, w, data: new Float32Array(cOut * rows * w) };
    for (let ch = 0; ch < cOut; ch++) {
      for (let y = 0; y < rows; y++) {
        const a = (ch * bandH + (from - bufTop + y)) * W;
        const o = (ch * rows + y) * w;
        const wy = sumY[from + y];
        for (let x = 0; x < w; x++) part.data[o + x] = acc[a + x] / Math.max(wy * sumX[x], 1e-12);
      }
    }
    sink.write(from, part);
  };

  for (let i = 0; i < ys.length; i++) {
    const [top, pieceH] = ys[i];
    if (acc && top > bufTop) { // rows above this band are final: flush, shift the rest up
      emit(bufTop, top);
      const shift = top - bufTop;
      for (let ch = 0; ch < cOut; ch++) {
        const base = ch * bandH * W;
        acc.copyWithin(base, base + shift * W, base + bandH * W);
        acc.fill(0, base + (bandH - shift) * W, base + bandH * W);
      }
      bufTop = top;
    }
    for (let j = 0; j < xs.length; j++) {
      if (signal?.aborted) throw new DOMException("cancelled", "AbortError");
      const [left, pieceW] = xs[j];
      const data = src.read(top, left, pieceH, pieceW, rowOf, colOf);
      const piece = await fn({ c: src.c, h: pieceH, w: pieceW, data });
      if (!acc) {
        cOut = piece.c;
        acc = new Float32Array(cOut * bandH * W);
        bufTop = top;
        sink.start?.(cOut, h, w);
      }
      const wy = wys[i], wx = wxs[j];
      for (let ch = 0; ch < cOut; ch++) {
        for (let y = 0; y < pieceH; y++) {
          const a = (ch * bandH + (top - bufTop + y)) * W + left;
          const p = (ch * pieceH + y) * pieceW;
          const f = wy[y];
          for (let x = 0; x < pieceW; x++) acc[a + x] += Math.fround(f * wx[x]) * piece.data[p + x];
        }
      }
      done++;
      onTile?.(done, total);
      await yieldToEventLoop();
    }
  }
  emit(bufTop, bufTop + bandH);
  return { tiles: total, tileH, tileW };
}

/** Tile a float image with a model-like fn and return the output image (small images). */
export async function runTiledImage(img, fn, opts) {
  const sink = imageSink();
  await runTiledStream(imageSource(img), fn, sink, opts);
  return sink.image;
}
