// Image restoration maths for the demo, with no DOM and no onnxruntime dependency:
// images, synthetic degradations, PSNR, a complex FFT (radix-2 plus Bluestein for
// any length), circular blur with the project's kernel conventions, and the
// plug-and-play ADMM loop of edgerestore.runtime.pnp (CircularBlur problem).
//
// An image is {c, h, w, data}: planar CHW floats in [0, 1] (data[(ch * h + y) * w + x]),
// the layout the exported NCHW models take.

export function makeImage(c, h, w, data) {
  return { c, h, w, data: data ?? new Float64Array(c * h * w) };
}

export function cloneImage(img, Type = Float64Array) {
  return { c: img.c, h: img.h, w: img.w, data: Type.from(img.data) };
}

/** RGBA bytes (canvas ImageData) -> 3-channel image in [0, 1]. */
export function fromRGBA(rgba, h, w) {
  const img = makeImage(3, h, w, new Float32Array(3 * h * w));
  const n = h * w;
  for (let i = 0; i < n; i++) {
    img.data[i] = rgba[4 * i] / 255;
    img.data[n + i] = rgba[4 * i + 1] / 255;
    img.data[2 * n + i] = rgba[4 * i + 2] / 255;
  }
  return img;
}

/** Image -> RGBA bytes, clipped and rounded (grey images are replicated). */
export function toRGBA(img) {
  const n = img.h * img.w;
  const out = new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = img.data[(img.c === 1 ? 0 : ch) * n + i];
      out[4 * i + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
    out[4 * i + 3] = 255;
  }
  return out;
}

/** PSNR in dB of `a` against reference `ref` (both in [0, peak]); no clipping. */
export function psnr(a, ref, peak = 1) {
  const x = a.data ?? a;
  const r = ref.data ?? ref;
  if (x.length !== r.length) throw new Error(`psnr: sizes differ (${x.length} vs ${r.length})`);
  let se = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - r[i];
    se += d * d;
  }
  const mse = se / x.length;
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

/** PSNR after clipping to [0, 1] and rounding to 8 bits, as a saved image would be. */
export function psnr8(a, ref) {
  const q = (v) => Math.round(Math.min(1, Math.max(0, v)) * 255) / 255;
  const x = Float64Array.from(a.data ?? a, q);
  return psnr(x, ref);
}

// ------------------------------------------------------------------- random numbers

/** Seeded uniform [0, 1) generator (mulberry32). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller) from a uniform generator. */
export function gaussian(uniform) {
  let spare = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * uniform();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

/** `img` plus Gaussian noise of std `sigma` ([0, 1] units), not clipped. */
export function addNoise(img, sigma, seed = 0) {
  const g = gaussian(rng(seed));
  const out = cloneImage(img, Float32Array);
  for (let i = 0; i < out.data.length; i++) out.data[i] += sigma * g();
  return out;
}

// ---------------------------------------------------------------------------- FFT

const plans = new Map();

function isPow2(n) {
  return n > 0 && (n & (n - 1)) === 0;
}

function radix2Plan(n) {
  const bits = Math.round(Math.log2(n));
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const cos = new Float64Array(n >>> 1);
  const sin = new Float64Array(n >>> 1);
  for (let k = 0; k < n >>> 1; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  return { n, rev, cos, sin };
}

// In-place forward transform X_k = sum_j x_j exp(-2 pi i jk / n), n a power of two.
function radix2(plan, re, im) {
  const { n, rev, cos, sin } = plan;
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      let t = re[i]; re[i] = re[j]; re[j] = t;
      t = im[i]; im[i] = im[j]; im[j] = t;
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >>> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sin[k * step];
        const a = start + k;
        const b = a + half;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

function getPlan(n) {
  let plan = plans.get(n);
  if (plan) return plan;
  if (isPow2(n)) {
    plan = { kind: "radix2", r2: radix2Plan(n) };
  } else {
    // Bluestein: jk = (j^2 + k^2 - (k - j)^2) / 2 turns the DFT into a convolution
    // with the chirp exp(i pi m^2 / n), done by power-of-two FFTs of length >= 2n - 1.
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    const cr = new Float64Array(n);
    const ci = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const a = (Math.PI * ((k * k) % (2 * n))) / n; // exact angle reduction
      cr[k] = Math.cos(a);
      ci[k] = -Math.sin(a);
    }
    const br = new Float64Array(m);
    const bi = new Float64Array(m);
    br[0] = cr[0];
    bi[0] = -ci[0];
    for (let k = 1; k < n; k++) {
      br[k] = br[m - k] = cr[k];
      bi[k] = bi[m - k] = -ci[k];
    }
    const r2 = radix2Plan(m);
    radix2(r2, br, bi);
    plan = { kind: "bluestein", n, m, cr, ci, br, bi, r2,
             ar: new Float64Array(m), ai: new Float64Array(m) };
  }
  plans.set(n, plan);
  return plan;
}

/** In-place 1-D complex DFT of any length; `inverse` includes the 1/n scale. */
export function fft(re, im, inverse = false) {
  const n = re.length;
  if (im.length !== n) throw new Error("fft: re and im lengths differ");
  if (n <= 1) return;
  if (inverse) for (let i = 0; i < n; i++) im[i] = -im[i];
  const plan = getPlan(n);
  if (plan.kind === "radix2") {
    radix2(plan.r2, re, im);
  } else {
    const { m, cr, ci, br, bi, r2, ar, ai } = plan;
    ar.fill(0);
    ai.fill(0);
    for (let k = 0; k < n; k++) {
      ar[k] = re[k] * cr[k] - im[k] * ci[k];
      ai[k] = re[k] * ci[k] + im[k] * cr[k];
    }
    radix2(r2, ar, ai);
    for (let k = 0; k < m; k++) {
      const r = ar[k] * br[k] - ai[k] * bi[k];
      const i = ar[k] * bi[k] + ai[k] * br[k];
      ar[k] = r;
      ai[k] = -i; // conjugate: the inverse FFT via the forward one
    }
    radix2(r2, ar, ai);
    for (let k = 0; k < n; k++) {
      const r = ar[k] / m;
      const i = -ai[k] / m;
      re[k] = r * cr[k] - i * ci[k];
      im[k] = r * ci[k] + i * cr[k];
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] /= n;
      im[i] = -im[i] / n;
    }
  }
}

/** Direct O(n^2) DFT (reference for tests); returns new arrays. */
export function dft(re, im, inverse = false) {
  const n = re.length;
  const sign = inverse ? 1 : -1;
  const or = new Float64Array(n);
  const oi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      sr += re[j] * Math.cos(a) - im[j] * Math.sin(a);
      si += re[j] * Math.sin(a) + im[j] * Math.cos(a);
    }
    or[k] = inverse ? sr / n : sr;
    oi[k] = inverse ? si / n : si;
  }
  return [or, oi];
}

/** In-place 2-D DFT of an h x w row-major complex array. */
export function fft2(re, im, h, w, inverse = false) {
  const rr = new Float64Array(w);
  const ri = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) { rr[x] = re[o + x]; ri[x] = im[o + x]; }
    fft(rr, ri, inverse);
    for (let x = 0; x < w; x++) { re[o + x] = rr[x]; im[o + x] = ri[x]; }
  }
  const cr = new Float64Array(h);
  const cim = new Float64Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) { cr[y] = re[y * w + x]; cim[y] = im[y * w + x]; }
    fft(cr, cim, inverse);
    for (let y = 0; y < h; y++) { re[y * w + x] = cr[y]; im[y * w + x] = cim[y]; }
  }
}

// ------------------------------------------------------------------------- blur

/** Isotropic Gaussian kernel of size 2 ceil(3 std) + 1, summing to 1 (runtime.kernels). */
export function gaussianKernel(std, size = null) {
  const n = size ?? 2 * Math.ceil(3 * std) + 1;
  const c = Math.floor(n / 2);
  const p = Array.from({ length: n }, (_, i) => Math.exp(-0.5 * ((i - c) / std) ** 2));
  const data = new Float64Array(n * n);
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += (data[i * n + j] = p[i] * p[j]);
  for (let i = 0; i < data.length; i++) data[i] /= s;
  return { kh: n, kw: n, data };
}

/** Horizontal motion-blur kernel of odd `length` (a box along one row). */
export function motionKernel(length) {
  const n = length | 1;
  const data = new Float64Array(n * n);
  const c = Math.floor(n / 2);
  for (let j = 0; j < n; j++) data[c * n + j] = 1 / n;
  return { kh: n, kw: n, data };
}

/** OTF of a kernel on an h x w grid: its centre (kh//2, kw//2) rolled to (0, 0). */
export function psf2otf(kernel, h, w) {
  const { kh, kw, data } = kernel;
  if (kh > h || kw > w) throw new Error(`kernel ${kh}x${kw} larger than image ${h}x${w}`);
  const re = new Float64Array(h * w);
  const im = new Float64Array(h * w);
  const ch = Math.floor(kh / 2);
  const cw = Math.floor(kw / 2);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const y = (i - ch + h) % h;
      const x = (j - cw + w) % w;
      re[y * w + x] += data[i * kw + j];
    }
  }
  fft2(re, im, h, w);
  return { h, w, re, im };
}

function channelSpectrum(img, ch) {
  const n = img.h * img.w;
  const re = Float64Array.from(img.data.subarray(ch * n, (ch + 1) * n));
  const im = new Float64Array(n);
  fft2(re, im, img.h, img.w);
  return [re, im];
}

/** Circular convolution of every channel with the kernel whose OTF is `otf`. */
export function applyOtf(img, otf, adjoint = false) {
  const out = makeImage(img.c, img.h, img.w);
  const n = img.h * img.w;
  const s = adjoint ? -1 : 1;
  for (let ch = 0; ch < img.c; ch++) {
    const [re, im] = channelSpectrum(img, ch);
    for (let i = 0; i < n; i++) {
      const r = re[i] * otf.re[i] - im[i] * s * otf.im[i];
      im[i] = re[i] * s * otf.im[i] + im[i] * otf.re[i];
      re[i] = r;
    }
    fft2(re, im, img.h, img.w, true);
    out.data.set(re, ch * n);
  }
  return out;
}

export function blurCircular(img, kernel) {
  return applyOtf(img, psf2otf(kernel, img.h, img.w));
}

/**
 * ADMM x-step for circular blur: argmin_x ||k * x - y||^2 / (2 sigma_n^2) + rho/2 ||x - v||^2,
 * i.e. (K^T K + alpha) x = K^T y + alpha v with alpha = rho sigma_n^2, one division in
 * Fourier space. `fy` (the spectra of y, per channel) may be passed to save FFTs.
 */
export function xStep(otf, y, v, alpha, fy = null) {
  const n = v.h * v.w;
  const out = makeImage(v.c, v.h, v.w);
  for (let ch = 0; ch < v.c; ch++) {
    const [yr, yi] = fy ? fy[ch] : channelSpectrum(y, ch);
    const [re, im] = channelSpectrum(v, ch);
    for (let i = 0; i < n; i++) {
      const kr = otf.re[i];
      const ki = otf.im[i];
      const den = kr * kr + ki * ki + alpha;
      // conj(K) Y + alpha V
      const nr = kr * yr[i] + ki * yi[i] + alpha * re[i];
      const ni = kr * yi[i] - ki * yr[i] + alpha * im[i];
      re[i] = nr / den;
      im[i] = ni / den;
    }
    fft2(re, im, v.h, v.w, true);
    out.data.set(re, ch * n);
  }
  return out;
}

/** Training noise std of the MAP denoiser ([0, 1] units), as in edgerestore.runtime.pnp. */
export const MAP_DENOISER_SIGMA = 11 / 255;
/** Smallest data-term noise std (8-bit quantisation), as in edgerestore.runtime.pnp. */
export const SIGMA_N_FLOOR = 0.255 / 255;

/**
 * Plug-and-play ADMM for circular deblurring, the loop of edgerestore.runtime.pnp.admm:
 * x = prox_data(z - u); z = D(x + u); u += x - z, starting from x = z = y, u = 0, with
 * rho = 1 / denoiserSigma^2 by default and early stop when ||x - x_prev|| / ||x_prev|| < tol
 * (tol <= 0 disables it). `denoise(image Float32, strength)` is async (the ONNX model).
 */
export async function admmDeblur(y, kernel, denoise, opts = {}) {
  const sigmaN = Math.max(opts.sigmaN ?? 0.01, SIGMA_N_FLOOR);
  const rho = opts.rho ?? 1 / (opts.denoiserSigma ?? MAP_DENOISER_SIGMA) ** 2;
  const iters = opts.iters ?? 75;
  const tol = opts.tol ?? 1e-4;
  const strength = 1 / Math.sqrt(rho);
  const alpha = rho * sigmaN * sigmaN;
  const otf = psf2otf(kernel, y.h, y.w);
  const fy = Array.from({ length: y.c }, (_, ch) => channelSpectrum(y, ch));
  let x = cloneImage(y);
  let z = cloneImage(y);
  const u = makeImage(y.c, y.h, y.w);
  const history = [];
  let converged = false;
  const size = x.data.length;
  for (let it = 1; it <= iters; it++) {
    const t0 = performance.now();
    const prev = x;
    const v = makeImage(y.c, y.h, y.w);
    for (let i = 0; i < size; i++) v.data[i] = z.data[i] - u.data[i];
    x = xStep(otf, y, v, alpha, fy);
    const xu = makeImage(y.c, y.h, y.w, new Float32Array(size));
    for (let i = 0; i < size; i++) xu.data[i] = x.data[i] + u.data[i];
    const d = await denoise(xu, strength);
    z = makeImage(y.c, y.h, y.w, Float64Array.from(d.data));
    let num = 0;
    let den = 0;
    for (let i = 0; i < size; i++) {
      u.data[i] += x.data[i] - z.data[i];
      num += (x.data[i] - prev.data[i]) ** 2;
      den += prev.data[i] ** 2;
    }
    const change = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
    history.push({ iteration: it, change, ms: performance.now() - t0 });
    converged = tol > 0 && it > 1 && change < tol;
    if (opts.onIteration && (await opts.onIteration(it, x, history[history.length - 1])) === false) break;
    if (converged) break;
  }
  return { x: cloneImage(x, Float32Array), iterations: history.length, converged, sigmaN, history };
}

/** Percentile with linear interpolation between order statistics (numpy's default). */
export function percentile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = ((s.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
