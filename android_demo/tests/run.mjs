// Browser tests of the demo: headless Debian Chromium driven by playwright-core,
// the web app served from 127.0.0.1 by scripts/serve.mjs (COOP/COEP set).
//
//   node tests/run.mjs [--root DIR] [--fixtures FILE] [--only apk] [--no-webgpu]
//                      [--screenshots DIR] [--results FILE] [--timeout SECONDS] [--grep TEXT]
//
// Prints one line per test and a closing "N passed, M failed"; exits 1 on any failure.
// Every request that is not for 127.0.0.1 is aborted and fails the run.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../scripts/browser.mjs";
import { startServer } from "../scripts/serve.mjs";

const DEMO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const ROOT = resolve(opt("root", join(DEMO, "web")));
const FIXTURES = resolve(opt("fixtures", join(DEMO, "build", "fixtures", "fixtures.json")));
const ONLY = opt("only", null);
const GREP = opt("grep", null); // run only the tests whose name contains this
const WEBGPU = !argv.includes("--no-webgpu");
const SHOTS = opt("screenshots", null);
const RESULTS = opt("results", null);
const TOTAL_TIMEOUT = Number(opt("timeout", "1500")) * 1000;
const PARITY_DB = 45;
// The phone-like fastest path: LiteRT.js int8 on XNNPACK WASM, one thread (a WebView has
// no WASM threads); the 12-megapixel test restores with it.
const PHOTO_ENGINE = "tflite-int8@wasm@1";
const PHONE = { width: 412, height: 915 };

const offHost = [];
const consoleErrors = [];
const measured = {};

function decode(entry) {
  const buf = Buffer.from(entry.data, "base64");
  const arr = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return { c: entry.c, h: entry.h, w: entry.w, data: Array.from(arr) };
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf) {
  assert(buf.subarray(1, 4).toString() === "PNG", "not a PNG");
  return { w: buf.readUInt32BE(16), h: buf.readUInt32BE(20) };
}

function decodeKernel(k) {
  const buf = Buffer.from(k.data, "base64");
  return { kh: k.kh, kw: k.kw, data: Array.from(new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))) };
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function launch(webgpu) {
  return launchChromium({ webgpu, onOffHost: (url) => offHost.push(url) });
}

async function openPage(browser, url) {
  const page = await browser.ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url);
  return page;
}

// ---------------------------------------------------------------------- in-page checks

async function denoiseParity(page, fx, ep, threads, tile, file = fx.model) {
  return page.evaluate(async ({ fx, ep, threads, tile, file }) => {
    const R = await import("/js/restore.js");
    const M = await import("/js/models.js");
    const entry = (await M.loadManifest()).find((m) => m.file === file);
    const model = await M.loadModel(entry, ep, threads);
    const noisy = R.makeImage(3, fx.noisy.h, fx.noisy.w, Float32Array.from(fx.noisy.data));
    const t0 = performance.now();
    const out = await M.runModelTiled(model, noisy, fx.sigma, tile);
    const ms = performance.now() - t0;
    return {
      isolated: crossOriginIsolated,
      threads: model.threads,
      runtime: model.runtime,
      ms,
      psnr_noisy: R.psnr(noisy, fx.clean.data),
      psnr_out: R.psnr(out, fx.clean.data),
      psnr_vs_python: R.psnr(out, fx.files[file].reference),
      psnr_python: fx.files[file].psnr_reference,
    };
  }, { fx, ep, threads, tile, file });
}

/** The real-noise model on the camera-noise photo: output vs Python's, noise level and weight. */
async function realParity(page, real, file, ep, threads, tile, reference) {
  return page.evaluate(async ({ real, file, ep, threads, tile, reference }) => {
    const R = await import("/js/restore.js");
    const M = await import("/js/models.js");
    const entry = (await M.loadManifest()).find((m) => m.file === file);
    const model = await M.loadModel(entry, ep, threads);
    const noisy = R.makeImage(3, real.noisy.h, real.noisy.w, Float32Array.from(real.noisy.data));
    const t0 = performance.now();
    const out = await M.runModelTiled(model, noisy, null, tile);
    const ms = performance.now() - t0;
    const clipped = Float32Array.from(out.data, (v) => Math.min(1, Math.max(0, v)));
    let maxAbs = 0;
    for (let i = 0; i < clipped.length; i++) maxAbs = Math.max(maxAbs, Math.abs(clipped[i] - reference[i]));
    const opts = await M.tilingOptions(model, tile);
    return { runtime: model.runtime, threads: model.threads, ms, blend: out.blend, align: opts.align,
             psnr_noisy: R.psnr(noisy, real.clean.data), psnr_out: R.psnr(clipped, real.clean.data),
             psnr_vs_python: R.psnr(clipped, reference), max_abs_vs_python: maxAbs };
  }, { real, file, ep, threads, tile, reference });
}

function checkDenoise(r, fx, label) {
  measured[label] = r;
  assert(r.psnr_vs_python >= PARITY_DB, `${label}: ${r.psnr_vs_python.toFixed(2)} dB vs Python < ${PARITY_DB}`);
  assert(r.psnr_out > r.psnr_noisy + 5, `${label}: PSNR ${r.psnr_noisy.toFixed(2)} -> ${r.psnr_out.toFixed(2)} dB, gain < 5 dB`);
  return `PSNR ${r.psnr_noisy.toFixed(2)} -> ${r.psnr_out.toFixed(2)} dB, vs Python ${r.psnr_vs_python.toFixed(1)} dB, ${r.ms.toFixed(0)} ms`;
}

// -------------------------------------------------------------------------------- tests

function defineTests(ctx) {
  const fx = ctx.fixtures;
  const den = { ...fx.denoise, noisy: decode(fx.denoise.noisy), clean: decode(fx.denoise.clean),
                reference: decode(fx.denoise.reference),
                files: Object.fromEntries(Object.entries(fx.denoise.files).map(
                  ([f, v]) => [f, { reference: decode(v.reference).data, psnr_reference: v.psnr_reference }])) };
  const denoiseFiles = Object.keys(den.files);
  const real = fx.real && { ...fx.real, noisy: decode(fx.real.noisy), clean: decode(fx.real.clean),
                            files: Object.fromEntries(Object.entries(fx.real.files).map(
                              ([f, v]) => [f, { ...v, reference: decode(v.reference).data }])),
                            tiled: Object.fromEntries(Object.entries(fx.real.tiled).map(
                              ([f, v]) => [f, { ...v, reference: decode(v.reference).data }])),
                            low: { ...fx.real.low, noisy: decode(fx.real.low.noisy),
                                   files: Object.fromEntries(Object.entries(fx.real.low.files).map(
                                     ([f, v]) => [f, { reference: decode(v.reference).data }])) } };
  const realEntries = ctx.manifest.models.filter((m) => m.role === "denoise" && m.noise_kind === "real");
  const realIds = [...new Set(realEntries.map((m) => m.id))];
  const fileOf = (format, precision) => denoiseFiles.find((f) => f.endsWith(
    format === "onnx" ? `_${precision}.onnx` : `_${precision}_256x256.tflite`));
  const INT8_BAR = ctx.manifest.export_targets.int8_max_denoise_psnr_loss;
  const deb = { ...fx.deblur, blurred: decode(fx.deblur.blurred), sharp: decode(fx.deblur.sharp),
                blurred_clean: decode(fx.deblur.blurred_clean), reference: decode(fx.deblur.reference),
                kernel: decodeKernel(fx.deblur.kernel) };
  const url = (p) => ctx.server.url + p;
  const T = [];
  const test = (name, tags, fn) => T.push({ name, tags, fn });

  test("page is cross-origin isolated, loads the manifest and the runtime locally", ["apk"], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    await page.waitForFunction(() => ["loaded", "error"].includes(document.body.dataset.state));
    const r = await page.evaluate(async () => {
      const M = await import("/js/models.js");
      return { isolated: crossOriginIsolated, state: document.body.dataset.state,
               models: (await M.loadManifest()).map((m) => m.file), wasmPaths: M.ort.env.wasm.wasmPaths };
    });
    await page.close();
    assert(r.isolated, "crossOriginIsolated is false");
    assert(r.state === "loaded", `page state ${r.state}`);
    assert(r.models.length >= 2, `manifest lists ${r.models}`);
    return `models ${r.models.join(", ")}`;
  });

  test("JS FFT matches a direct DFT (1-D n = 1..40, 64, 100, 127; 2-D 6x10, 16x12)", [], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    const err = await page.evaluate(async () => {
      const R = await import("/js/restore.js");
      const u = R.rng(3);
      let worst = 0;
      const sizes = [...Array.from({ length: 40 }, (_, i) => i + 1), 64, 100, 127];
      for (const n of sizes) {
        for (const inverse of [false, true]) {
          const re = Float64Array.from({ length: n }, () => u() - 0.5);
          const im = Float64Array.from({ length: n }, () => u() - 0.5);
          const [dr, di] = R.dft(re, im, inverse);
          R.fft(re, im, inverse);
          for (let k = 0; k < n; k++) worst = Math.max(worst, Math.abs(re[k] - dr[k]), Math.abs(im[k] - di[k]));
        }
      }
      for (const [h, w] of [[6, 10], [16, 12]]) {
        const re = Float64Array.from({ length: h * w }, () => u() - 0.5);
        const im = new Float64Array(h * w);
        const fr = Float64Array.from(re), fi = Float64Array.from(im);
        R.fft2(fr, fi, h, w);
        for (let ky = 0; ky < h; ky++) for (let kx = 0; kx < w; kx++) {
          let sr = 0, si = 0;
          for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
            const a = -2 * Math.PI * (ky * y / h + kx * x / w);
            sr += re[y * w + x] * Math.cos(a);
            si += re[y * w + x] * Math.sin(a);
          }
          worst = Math.max(worst, Math.abs(fr[ky * w + kx] - sr), Math.abs(fi[ky * w + kx] - si));
        }
        R.fft2(fr, fi, h, w, true);
        for (let i = 0; i < h * w; i++) worst = Math.max(worst, Math.abs(fr[i] - re[i]), Math.abs(fi[i]));
      }
      return worst;
    });
    await page.close();
    assert(err < 1e-10, `max |FFT - DFT| = ${err}`);
    return `max abs error ${err.toExponential(2)}`;
  });

  test("JS kernel and circular blur match Python (gaussian_kernel, blur_circular)", [], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    const r = await page.evaluate(async ({ deb }) => {
      const R = await import("/js/restore.js");
      const k = R.gaussianKernel(deb.kernel_std);
      let kerr = k.kh === deb.kernel.kh ? 0 : Infinity;
      for (let i = 0; i < k.data.length; i++) kerr = Math.max(kerr, Math.abs(k.data[i] - deb.kernel.data[i]));
      const sharp = R.makeImage(3, deb.sharp.h, deb.sharp.w, Float64Array.from(deb.sharp.data));
      const b = R.blurCircular(sharp, k);
      let berr = 0;
      for (let i = 0; i < b.data.length; i++) berr = Math.max(berr, Math.abs(b.data[i] - deb.blurred_clean.data[i]));
      return { kerr, berr };
    }, { deb });
    await page.close();
    assert(r.kerr < 1e-12, `kernel differs by ${r.kerr}`);
    assert(r.berr < 1e-6, `blur differs from Python's by ${r.berr}`); // Python side stored as float32
    return `kernel ${r.kerr.toExponential(1)}, blur ${r.berr.toExponential(1)}`;
  });

  test("ADMM x-step equals a direct solve of (A^T A + alpha I) x = A^T y + alpha v (4x5, 3x3 kernel)", [], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    const r = await page.evaluate(async () => {
      const R = await import("/js/restore.js");
      const u = R.rng(11);
      const h = 4, w = 5, n = h * w, kh = 3, kw = 3;
      const kernel = { kh, kw, data: Float64Array.from({ length: 9 }, () => u()) };
      const y = R.makeImage(1, h, w, Float64Array.from({ length: n }, () => u()));
      const v = R.makeImage(1, h, w, Float64Array.from({ length: n }, () => u()));
      const alpha = 0.3;
      // A: circular true convolution, kernel centre (1, 1).
      const A = Array.from({ length: n }, () => new Float64Array(n));
      for (let py = 0; py < h; py++) for (let px = 0; px < w; px++)
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
          const sy = (((py - i + 1) % h) + h) % h, sx = (((px - j + 1) % w) + w) % w;
          A[py * w + px][sy * w + sx] += kernel.data[i * kw + j];
        }
      const M = Array.from({ length: n }, (_, a) => {
        const row = new Float64Array(n + 1);
        for (let b = 0; b < n; b++) {
          let s = 0;
          for (let p = 0; p < n; p++) s += A[p][a] * A[p][b];
          row[b] = s + (a === b ? alpha : 0);
        }
        let rhs = alpha * v.data[a];
        for (let p = 0; p < n; p++) rhs += A[p][a] * y.data[p];
        row[n] = rhs;
        return row;
      });
      for (let c = 0; c < n; c++) { // Gaussian elimination with partial pivoting
        let piv = c;
        for (let r2 = c + 1; r2 < n; r2++) if (Math.abs(M[r2][c]) > Math.abs(M[piv][c])) piv = r2;
        [M[c], M[piv]] = [M[piv], M[c]];
        for (let r2 = 0; r2 < n; r2++) {
          if (r2 === c) continue;
          const f = M[r2][c] / M[c][c];
          for (let k = c; k <= n; k++) M[r2][k] -= f * M[c][k];
        }
      }
      const direct = M.map((row, i) => row[n] / row[i]);
      const fast = R.xStep(R.psf2otf(kernel, h, w), y, v, alpha);
      const blurred = R.blurCircular(v, kernel);
      let err = 0, berr = 0;
      for (let i = 0; i < n; i++) {
        err = Math.max(err, Math.abs(fast.data[i] - direct[i]));
        let ax = 0;
        for (let j = 0; j < n; j++) ax += A[i][j] * v.data[j];
        berr = Math.max(berr, Math.abs(blurred.data[i] - ax));
      }
      return { err, berr };
    });
    await page.close();
    assert(r.berr < 1e-12, `FFT blur differs from the matrix A by ${r.berr}`);
    assert(r.err < 1e-10, `x-step differs from the direct solve by ${r.err}`);
    return `x-step ${r.err.toExponential(1)}, blur ${r.berr.toExponential(1)}`;
  });

  test("denoise, WASM 1 thread, 80 px tiles cross-faded as src/edgerestore/runtime/tiling.py: PSNR gain > 5 dB and >= 45 dB vs Python", ["apk"], async () => {
    const page = await openPage(ctx.cpu, url("index.html?threads=1"));
    const r = await denoiseParity(page, den, "wasm", 1, 80);
    await page.close();
    assert(r.threads === 1, `numThreads ${r.threads}`);
    return checkDenoise(r, den, "denoise_wasm_1thread");
  });

  test("tiling: the page's plan and weights equal src/edgerestore/runtime/tiling.py's (models/tiling.json cases)", [], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    const r = await page.evaluate(async () => {
      const T = await import("/js/tiling.js");
      const M = await import("/js/models.js");
      const rule = await M.loadTilingRule();
      const bad = [];
      for (const c of rule.cases) {
        const starts = T.tileStarts(c.length, Math.min(c.tile, c.length), c.halo, c.blend);
        if (starts.join() !== c.starts.join()) bad.push(`starts ${c.length}/${c.tile}`);
        for (const [k, want] of Object.entries(c.ramps)) {
          const got = T.tileRamp(Math.min(c.tile, c.length), k[0] === "1", k[1] === "1", c.halo, c.blend);
          if (got.some((v, i) => v !== want[i])) bad.push(`ramp ${k} ${c.length}/${c.tile}`);
        }
      }
      // Aligned origins (the card's tile_align): the spans equal TilePlan.spans.
      for (const c of rule.aligned) {
        const spans = T.tileSpans(c.length, Math.min(c.tile, c.length), c.halo, c.blend, c.align, c.fixed);
        if (JSON.stringify(spans) !== JSON.stringify(c.spans)) bad.push(`spans ${c.length}/${c.tile}/${c.align}/${c.fixed}`);
        if (spans.some(([s0]) => !c.fixed && s0 % c.align !== 0)) bad.push(`unaligned origin ${c.length}/${c.tile}/${c.align}`);
      }
      // An exact "model" (identity) through the stream, with blending and padding, is exact;
      // also with aligned origins, where a dynamic model's last tile is longer.
      const u = (await import("/js/restore.js")).rng(5);
      let worst = 0;
      const seen = [];
      for (const [h, w, tile, fixed, halo, align] of [[300, 517, 64, false, 17, 1], [100, 40, 256, true, 17, 1],
                                                      [700, 260, 256, true, 17, 1], [190, 301, 160, false, 42, 2],
                                                      [301, 190, 256, true, 42, 2], [401, 333, 128, false, 20, 4]]) {
        const img = { c: 3, h, w, data: Float32Array.from({ length: 3 * h * w }, () => u()) };
        const out = await T.runTiledImage(img, async (p) => { seen.push([p.h, p.w]); return p; },
                                          { tile: [tile, tile], halo, blend: rule.default_blend, fixed, align });
        for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - img.data[i]));
      }
      const longer = seen.some(([th, tw]) => th === 161 || tw === 161);
      return { cases: rule.cases.length, aligned: rule.aligned.length, blend: rule.default_blend, bad, worst, longer };
    });
    await page.close();
    assert(r.bad.length === 0, `differs from Python: ${r.bad.join(", ")}`);
    assert(r.worst < 1e-6, `identity through tiles: max error ${r.worst}`);
    assert(r.longer, "no aligned last tile ran to the end (161 px)");
    return `${r.cases} cases + ${r.aligned} aligned cases equal (blend ${r.blend}); identity through blended/padded/aligned tiles: ${r.worst.toExponential(1)}`;
  });

  test("LiteRT.js fp32 (XNNPACK WASM, 1 thread, fixed 256 tiles, reflect-padded): >= 45 dB vs Python", [], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    const file = fileOf("tflite", "fp32");
    const r = await denoiseParity(page, den, "wasm", 1, null, file);
    await page.close();
    assert(r.runtime === "litert", `runtime ${r.runtime}`);
    return checkDenoise(r, den, "denoise_litert_fp32_wasm1");
  });

  for (const [format, label] of [["tflite", "LiteRT.js int8 (XNNPACK WASM, 1 thread)"], ["onnx", "onnxruntime-web int8 (WASM, 1 thread)"]]) {
    test(`${label}: loses <= the export's int8 bar of denoising PSNR against Python fp32`, ["apk"], async () => {
      const page = await openPage(ctx.cpu, url("index.html"));
      const file = fileOf(format, "int8");
      const r = await denoiseParity(page, den, "wasm", 1, null, file);
      await page.close();
      const loss = den.psnr_reference - r.psnr_out;
      measured[`denoise_${format}_int8_wasm1`] = { ...r, psnr_loss_vs_python_fp32: loss, bar: INT8_BAR };
      assert(loss <= INT8_BAR, `${file}: ${r.psnr_out.toFixed(3)} dB vs Python fp32 ${den.psnr_reference.toFixed(3)} dB: loses ${loss.toFixed(3)} > ${INT8_BAR}`);
      assert(r.psnr_vs_python >= 35, `${file}: ${r.psnr_vs_python.toFixed(1)} dB vs Python running the same file`);
      return `${file}: PSNR ${r.psnr_noisy.toFixed(2)} -> ${r.psnr_out.toFixed(3)} dB (Python fp32 ${den.psnr_reference.toFixed(3)}, `
        + `same file in Python ${r.psnr_python.toFixed(3)}): loss ${loss.toFixed(3)} dB <= ${INT8_BAR}; `
        + `${r.psnr_vs_python.toFixed(1)} dB vs Python's output of the file; ${r.ms.toFixed(0)} ms`;
    });
  }

  test("denoise, WASM multi-threaded (cross-origin isolated): same result", ["apk"], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    const r = await denoiseParity(page, den, "wasm", 2, 64);
    await page.close();
    assert(r.isolated && r.threads === 2, `isolated ${r.isolated}, numThreads ${r.threads}`);
    return checkDenoise(r, den, "denoise_wasm_2threads");
  });

  test(`deblur, ADMM-MAP ${deb.iters} iterations in JS: >= 45 dB vs Python's pnp.admm and a PSNR gain`, ["apk"], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    const r = await page.evaluate(async ({ deb }) => {
      const R = await import("/js/restore.js");
      const M = await import("/js/models.js");
      const entry = (await M.loadManifest()).find((m) => m.file === deb.model);
      const model = await M.loadModel(entry, "wasm", 2);
      const y = R.makeImage(3, deb.blurred.h, deb.blurred.w, Float64Array.from(deb.blurred.data));
      const kernel = { kh: deb.kernel.kh, kw: deb.kernel.kw, data: Float64Array.from(deb.kernel.data) };
      const t0 = performance.now();
      const res = await R.admmDeblur(y, kernel, (img) => M.runModelTiled(model, img, null, 256),
                                     { sigmaN: deb.sigma_n, iters: deb.iters, tol: 0 });
      return { ms: performance.now() - t0, iterations: res.iterations,
               psnr_blurred: R.psnr(y, deb.sharp.data), psnr_out: R.psnr(res.x, deb.sharp.data),
               psnr_vs_python: R.psnr(res.x, deb.reference.data) };
    }, { deb });
    await page.close();
    measured.deblur_wasm = r;
    assert(r.iterations === deb.iters, `ran ${r.iterations} iterations`);
    assert(r.psnr_vs_python >= PARITY_DB, `${r.psnr_vs_python.toFixed(2)} dB vs Python < ${PARITY_DB}`);
    assert(r.psnr_out > r.psnr_blurred + 1, `PSNR ${r.psnr_blurred.toFixed(2)} -> ${r.psnr_out.toFixed(2)} dB`);
    return `PSNR ${r.psnr_blurred.toFixed(2)} -> ${r.psnr_out.toFixed(2)} dB (Python ${deb.psnr_reference.toFixed(2)}), vs Python ${r.psnr_vs_python.toFixed(1)} dB, ${r.ms.toFixed(0)} ms`;
  });

  test("restore page end to end: sample photo + noise 25 + Run denoise (LiteRT int8) raises PSNR", ["apk"], async () => {
    const page = await openPage(ctx.cpu, url("index.html?engine=tflite-int8@wasm@1"));
    if (SHOTS) await page.setViewportSize(PHONE); // the README's screenshots: a phone-sized viewport
    await page.waitForFunction(() => document.body.dataset.state === "loaded");
    await page.click("#sample");
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    await page.click("#run");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 120000 });
    const r = await page.evaluate(() => ({ state: document.body.dataset.state, last: window.demo.last,
                                           status: document.getElementById("status").textContent }));
    if (SHOTS && !ctx.apk) {
      await page.fill("#split", "50");
      await page.dispatchEvent("#split", "input");
      await page.screenshot({ path: join(SHOTS, "restore.png"), fullPage: true });
    }
    await page.close();
    assert(r.state === "done", `state ${r.state}: ${r.status}`);
    measured.ui_denoise = r.last;
    assert(r.last.psnr_out > r.last.psnr_in + 5, `PSNR ${r.last.psnr_in} -> ${r.last.psnr_out}`);
    return `256x256: PSNR ${r.last.psnr_in.toFixed(2)} -> ${r.last.psnr_out.toFixed(2)} dB in ${r.last.ms.toFixed(0)} ms`;
  });

  test("restore page end to end: blur 1.6 + Run deblur (10 ADMM iterations) raises PSNR", [], async () => {
    const page = await openPage(ctx.cpu, url("index.html?engine=onnx-fp32@wasm@1"));
    await page.waitForFunction(() => document.body.dataset.state === "loaded");
    await page.selectOption("#maxside", "128");
    await page.selectOption("#degrade", "blur");
    await page.fill("#iters", "10");
    await page.click("#sample");
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    await page.click("#run");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 120000 });
    const r = await page.evaluate(() => ({ state: document.body.dataset.state, last: window.demo.last,
                                           status: document.getElementById("status").textContent }));
    await page.close();
    assert(r.state === "done", `state ${r.state}: ${r.status}`);
    measured.ui_deblur = r.last;
    assert(r.last.psnr_out > r.last.psnr_in + 1, `PSNR ${r.last.psnr_in} -> ${r.last.psnr_out}`);
    return `128x128: PSNR ${r.last.psnr_in.toFixed(2)} -> ${r.last.psnr_out.toFixed(2)} dB in ${r.last.ms.toFixed(0)} ms`;
  });

  test("restore page, engine auto: first Run measures the engines and remembers the fastest", [], async () => {
    const page = await openPage(ctx.cpu, url("index.html"));
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.state === "loaded");
    await page.click("#sample");
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    const t0 = Date.now();
    await page.click("#run");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 300000 });
    const first = await page.evaluate(() => ({ last: window.demo.last, status: document.getElementById("status").textContent,
      stored: JSON.parse(localStorage.getItem("edgerestore.calibration.v1") ?? "{}") }));
    const seconds = (Date.now() - t0) / 1000;
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.state === "loaded");
    await page.click("#sample");
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    await page.click("#run");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 120000 });
    const second = await page.evaluate(() => window.demo.last);
    await page.close();
    assert(first.last, `first run: ${first.status}`);
    const cal = first.stored[first.last.model_id];
    assert(cal && cal.results.length >= 4, `calibration results ${JSON.stringify(cal)}`);
    const fastest = cal.results.reduce((a, b) => (a.median_ms <= b.median_ms ? a : b));
    assert(first.last.engine === fastest.key && first.last.engine_how.startsWith("measured"), `first ${first.last.engine} (${first.last.engine_how}), fastest ${fastest.key}`);
    assert(second.engine === fastest.key && second.engine_how.startsWith("remembered"), `second ${second.engine} (${second.engine_how})`);
    measured.calibration = { seconds, results: cal.results.map(({ key, median_ms }) => ({ key, median_ms })) };
    return `picked ${fastest.key} of ${cal.results.length} (${cal.results.map((r) => `${r.key} ${r.median_ms.toFixed(0)} ms`).join(", ")}); `
      + `first Run incl. calibration ${seconds.toFixed(0)} s; reload: ${second.engine_how}`;
  });

  test("12-megapixel JPEG (EXIF orientation 6): cancel, then full-resolution denoise and save", [], async () => {
    const page = await openPage(ctx.cpu, url(`index.html?engine=${PHOTO_ENGINE}`));
    await page.waitForFunction(() => document.body.dataset.state === "loaded");
    const tLoad = Date.now();
    await page.setInputFiles("#file", ctx.photo);
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 120000 });
    const loadS = (Date.now() - tLoad) / 1000;
    const picked = await page.$eval("#degrade", (e) => e.value);
    // A picked photo is restored as it is by default; add noise here so PSNR can be measured.
    await page.selectOption("#degrade", "noise");
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 120000 });
    const dims = await page.evaluate(() => ({ w: window.demo.photo.w, h: window.demo.photo.h }));
    // Cancel after a few tiles: the page stops and can run again.
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("progress").value > 0.01, null, { timeout: 300000 });
    // A DOM click: the progress bar keeps re-laying out the page, so Playwright's
    // "stable element" wait can time out on a loaded machine before the page yields.
    await page.waitForFunction(() => !document.getElementById("cancel").disabled, null, { timeout: 60000 });
    await page.$eval("#cancel", (button) => button.click());
    await page.waitForFunction(() => ["cancelled", "done", "error"].includes(document.body.dataset.state), null, { timeout: 60000 });
    const cancelled = await page.evaluate(() => document.body.dataset.state);
    const t0 = Date.now();
    await page.click("#run");
    let eta = "";
    await page.waitForFunction(() => document.getElementById("progress").value > 0.3, null, { timeout: 900000 });
    eta = await page.textContent("#eta");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 1200000, polling: 1000 });
    const seconds = (Date.now() - t0) / 1000;
    const r = await page.evaluate(() => ({ state: document.body.dataset.state, last: window.demo.last,
                                           status: document.getElementById("status").textContent }));
    assert(r.state === "done", `state ${r.state}: ${r.status}`);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 120000 }), page.click("#save")]);
    const png = readFileSync(await download.path());
    await page.close();
    const size = pngSize(png);
    assert(picked === "none", `a picked photo defaulted to degrade ${picked}`);
    assert(cancelled === "cancelled", `after Cancel the page is ${cancelled}`);
    assert(dims.w === 3000 && dims.h === 4000, `photo decoded as ${dims.w}x${dims.h}, want 3000x4000 (EXIF rotation)`);
    assert(size.w === 3000 && size.h === 4000, `saved PNG ${size.w}x${size.h}`);
    assert(r.last.psnr_out > r.last.psnr_in + 5, `PSNR ${r.last.psnr_in} -> ${r.last.psnr_out}`);
    assert(/s left/.test(eta), `no time left shown: ${eta}`);
    measured.photo_12mp = { ...r.last, wall_s: seconds, decode_s: loadS, png_bytes: png.length, eta_sample: eta };
    return `3000x4000 (EXIF-rotated from 4000x3000) with ${r.last.engine_label}: ${r.last.tiles} tiles in ${seconds.toFixed(0)} s `
      + `(inference ${(r.last.inference_ms / 1000).toFixed(0)} s), PSNR ${r.last.psnr_in.toFixed(2)} -> ${r.last.psnr_out.toFixed(2)} dB; `
      + `decode + noise ${loadS.toFixed(0)} s; saved PNG ${size.w}x${size.h} (${(png.length / 1e6).toFixed(1)} MB); progress said "${eta}"`;
  });

  // ------------------------------------------------------------- the real-noise model
  // PSNR against the Python runtime's output of the same file (measured: LiteRT int8 and
  // fp32 169 dB, i.e. max abs 1.2e-7; ORT fp32 146 dB whole and in aligned tiles; ORT
  // int8 59.9 dB, max abs 1.9e-2, its WASM int8 kernels round differently from the CPU EP's).
  const REAL_PARITY = { onnx_fp32: 100, tiled: 100, tflite_int8: 100, tflite_fp32: 100, onnx_int8: 45 };
  const REAL_GAIN = 2; // dB over the camera-noise photo
  const realFile = (id, format, precision) => realEntries.find((m) => m.id === id && m.format === format
    && m.precision === precision)?.file;

  test("real-noise model: the card's noise level and blend weight, measured in JS, equal the Python runtime's", ["apk"], async () => {
    assert(real && realIds.length, "no real-noise model in the manifest / fixtures");
    const page = await openPage(ctx.cpu, url("index.html"));
    const r = await page.evaluate(async ({ real, entries }) => {
      const B = await import("/js/input_blend.js");
      const T = await import("/js/tiling.js");
      const src = T.imageSource({ c: 3, h: real.noisy.h, w: real.noisy.w, data: Float32Array.from(real.noisy.data) });
      const table = entries.find((m) => m.input_blend)?.input_blend;
      const level2 = B.estimateSigma(src, 2) * 255, level1 = B.estimateSigma(src, 1) * 255;
      // numpy.interp's clamping and interpolation on the table.
      const interp = [[0, 0.5], [2, 0.5], [4, 0.75], [6, 1], [99, 1]].map(([l, w]) => Math.abs(B.blendWeight(l, table) - w));
      return { level2, level1, weight: B.blendWeight(level2, table), interp: Math.max(...interp), table };
    }, { real, entries: realEntries });
    await page.close();
    const dl = Math.abs(r.level2 - real.level), dp = Math.abs(r.level1 - real.levels_plain);
    assert(dl < 1e-9 && dp < 1e-9, `levels ${r.level2} / ${r.level1} vs Python ${real.level} / ${real.levels_plain}`);
    assert(Math.abs(r.weight - real.weight) < 1e-12, `weight ${r.weight} vs ${real.weight}`);
    assert(r.interp < 1e-12, `blendWeight off the table by ${r.interp}`);
    measured.real_blend = { ...r, python_level: real.level, python_weight: real.weight };
    return `level ${r.level2.toFixed(4)}/255 (stride 2; plain ${r.level1.toFixed(3)}), weight ${r.weight.toFixed(4)} `
      + `(table ${JSON.stringify(r.table)}); |JS - Python| ${dl.toExponential(1)}`;
  });

  for (const [format, precision, tile, tag] of [["tflite", "int8", null, "apk"], ["onnx", "fp32", null, "apk"],
                                               ["onnx", "fp32", "tiled", ""], ["onnx", "int8", null, ""],
                                               ["tflite", "fp32", null, ""]]) {
    const label = `${format === "tflite" ? "LiteRT.js" : "onnxruntime-web"} ${precision}${tile ? ", small aligned tiles" : ""}`;
    test(`real-noise model, ${label} (WASM 1 thread): restores the camera-noise photo, matches the Python runtime`, tag ? [tag] : [], async () => {
      assert(real && realIds.length, "no real-noise model in the manifest / fixtures");
      const notes = [];
      for (const id of realIds) {
        const file = realFile(id, format, precision);
        assert(file, `${id}: no ${format} ${precision} file`);
        const ref = tile ? real.tiled[file] : real.files[file];
        assert(ref, `no Python reference for ${file}`);
        const page = await openPage(ctx.cpu, url("index.html"));
        const r = await realParity(page, real, file, "wasm", 1, tile ? ref.tile : null, ref.reference);
        await page.close();
        const bar = REAL_PARITY[tile ? "tiled" : `${format}_${precision}`];
        measured[`real_${id}_${format}_${precision}${tile ? "_tiled" : ""}`] = r;
        assert(r.runtime === (format === "tflite" ? "litert" : "ort"), `runtime ${r.runtime}`);
        assert(r.align === ctx.manifest.models.find((m) => m.file === file).tile_align, `align ${r.align}`);
        assert(r.psnr_vs_python >= bar, `${file}: ${r.psnr_vs_python.toFixed(1)} dB vs Python < ${bar} (max abs ${r.max_abs_vs_python.toExponential(2)})`);
        assert(r.psnr_out > r.psnr_noisy + REAL_GAIN, `${file}: PSNR ${r.psnr_noisy.toFixed(2)} -> ${r.psnr_out.toFixed(2)} dB`);
        if (r.blend) assert(Math.abs(r.blend.weight - real.weight) < 1e-12, `weight ${r.blend.weight} vs ${real.weight}`);
        notes.push(`${file}${tile ? ` (${ref.tiles} tiles of ${ref.tile})` : ""}: PSNR ${r.psnr_noisy.toFixed(2)} -> ${r.psnr_out.toFixed(2)} dB `
          + `(Python ${(tile ? NaN : real.files[file].psnr_reference).toFixed(2)}), vs Python ${r.psnr_vs_python.toFixed(1)} dB, `
          + `max abs ${r.max_abs_vs_python.toExponential(1)}, ${r.ms.toFixed(0)} ms`);
      }
      return notes.join("; ");
    });
  }

  test("real-noise model, input blend on a photo with little noise (ONNX fp32): level, weight and output equal Python's", [], async () => {
    assert(real && Object.keys(real.low.files).length, "no real-noise model with an input blend");
    const notes = [];
    for (const [file, ref] of Object.entries(real.low.files)) {
      const page = await openPage(ctx.cpu, url("index.html"));
      const lowAsPhoto = { ...real, noisy: real.low.noisy, clean: real.low.noisy };
      const r = await realParity(page, lowAsPhoto, file, "wasm", 1, null, ref.reference);
      await page.close();
      measured[`real_low_${file}`] = r;
      assert(Math.abs(r.blend.level - real.low.level) < 1e-9, `level ${r.blend.level} vs Python ${real.low.level}`);
      assert(Math.abs(r.blend.weight - real.low.weight) < 1e-12 && r.blend.weight < 1, `weight ${r.blend.weight} vs ${real.low.weight}`);
      assert(r.psnr_vs_python >= REAL_PARITY.onnx_fp32, `${file}: ${r.psnr_vs_python.toFixed(1)} dB vs Python`);
      notes.push(`${file}: level ${r.blend.level.toFixed(3)}/255, weight ${r.blend.weight.toFixed(4)}, `
        + `vs Python ${r.psnr_vs_python.toFixed(1)} dB (max abs ${r.max_abs_vs_python.toExponential(1)})`);
    }
    return notes.join("; ");
  });

  test("default denoiser: a camera photo gets the real-noise model, synthetic noise the Gaussian one; _fast students first", ["apk"], async () => {
    const page = await openPage(ctx.cpu, url("index.html?engine=tflite-int8@wasm@1"));
    await page.waitForFunction(() => document.body.dataset.state === "loaded");
    const rule = await page.evaluate(async () => {
      const M = await import("/js/models.js");
      const e = (id, kind, inputs) => ({ id, role: "denoise", noise_kind: kind, fast: id.endsWith("_fast"), inputs });
      const teachers = [e("blindspot_eff_gauss25_rgb", "gaussian", ["noisy", "sigma"]), e("blindspot_real_rgb", "real", ["noisy"]),
                        { id: "map_rgb", role: "map_denoiser", inputs: ["noisy"] }];
      const students = [...teachers, e("blindspot_gauss25_rgb_fast", "gaussian", ["noisy"]), e("blindspot_real_rgb_fast", "real", ["noisy"])];
      return {
        teachers: [M.defaultDenoiser(teachers, { syntheticNoise: false }), M.defaultDenoiser(teachers, { syntheticNoise: true })],
        students: [M.defaultDenoiser(students, { syntheticNoise: false }), M.defaultDenoiser(students, { syntheticNoise: true })],
        shipped: [M.defaultDenoiser(await M.loadManifest(), { syntheticNoise: false }),
                  M.defaultDenoiser(await M.loadManifest(), { syntheticNoise: true })],
        blends: Object.fromEntries((await M.loadManifest()).map((m) => [m.id, Boolean(m.input_blend)])),
      };
    });
    assert(rule.teachers.join() === "blindspot_real_rgb,blindspot_eff_gauss25_rgb", `teachers ${rule.teachers}`);
    assert(rule.students.join() === "blindspot_real_rgb_fast,blindspot_gauss25_rgb_fast", `students ${rule.students}`);
    // The page: pick the camera photo (no noise added) and run it: the real-noise model.
    await page.setInputFiles("#file", ctx.cameraPhoto);
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    const before = await page.evaluate(() => ({ degrade: document.getElementById("degrade").value,
                                                note: document.getElementById("modelnote").textContent }));
    await page.click("#run");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 300000 });
    const photo = await page.evaluate(() => ({ state: document.body.dataset.state, last: window.demo.last,
                                               status: document.getElementById("status").textContent,
                                               metrics: document.getElementById("metrics").textContent }));
    // Synthetic noise added in the page: the Gaussian model.
    await page.selectOption("#degrade", "noise");
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    await page.click("#run");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 300000 });
    const synthetic = await page.evaluate(() => ({ state: document.body.dataset.state, last: window.demo.last,
                                                   status: document.getElementById("status").textContent }));
    await page.close();
    assert(before.degrade === "none", `picked photo: degrade ${before.degrade}`);
    assert(photo.state === "done", `camera photo: ${photo.status}`);
    assert(synthetic.state === "done", `synthetic noise: ${synthetic.status}`);
    assert(photo.last.model_id === rule.shipped[0] && photo.last.noise_kind === "real", `camera photo ran ${photo.last.model_id}`);
    assert(photo.last.engine === "tflite-int8@wasm@1" && photo.last.model.endsWith(".tflite"), `engine ${photo.last.engine}, ${photo.last.model}`);
    // Blended with the input by the measured level exactly when the model's card has a blend table.
    if (!rule.blends[photo.last.model_id]) assert(!photo.last.input_blend, `blended without a table: ${JSON.stringify(photo.last.input_blend)}`);
    else assert(photo.last.input_blend && Math.abs(photo.last.input_blend.weight - real.weight) < 0.05, `blend ${JSON.stringify(photo.last.input_blend)}`);
    assert(synthetic.last.model_id === rule.shipped[1] && synthetic.last.noise_kind === "gaussian", `synthetic noise ran ${synthetic.last.model_id}`);
    // (the "clean" reference is the camera photo itself, noisy: a smaller gain than on the sample)
    assert(synthetic.last.psnr_out > synthetic.last.psnr_in + 2, `PSNR ${synthetic.last.psnr_in} -> ${synthetic.last.psnr_out}`);
    measured.default_choice = { rule, photo: photo.last, synthetic: synthetic.last };
    return `rule: ${rule.teachers.join(" / ")}; with students ${rule.students.join(" / ")}. Camera photo ${photo.last.width}x${photo.last.height}: `
      + `${photo.last.model} in ${photo.last.ms.toFixed(0)} ms (${photo.last.tiles} tiles`
      + (photo.last.input_blend ? `, level ${photo.last.input_blend.level.toFixed(2)}, weight ${photo.last.input_blend.weight.toFixed(3)}` : ", no blend")
      + `); + noise 25: ${synthetic.last.model}, PSNR ${synthetic.last.psnr_in.toFixed(2)} -> ${synthetic.last.psnr_out.toFixed(2)} dB`;
  });

  // edgerestore.runtime.bench.FIELDS, in that order, then the browser's extras.
  const FIELDS = ["model", "file", "format", "precision", "backend", "threads", "input", "runs", "warmup",
                  "median_ms", "p10_ms", "p90_ms", "first_run_ms", "session_ms", "peak_rss_mb",
                  "file_size_bytes", "macs_per_pixel", "gmacs_per_s"];
  const benchTest = (label, browserKey, backends, size, runs, shot, models = null) => async () => {
    const page = await openPage(ctx[browserKey],
      url(`bench.html?autorun=1&size=${size}&runs=${runs}&warmup=1&backends=${backends.join(",")}`
          + (models ? `&models=${models.join(",")}` : "")));
    if (shot && SHOTS) await page.setViewportSize(PHONE);
    await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 600000 });
    const rep = await page.evaluate(() => window.benchReport);
    const shown = JSON.parse(await page.textContent("#json"));
    if (shot && SHOTS) await page.screenshot({ path: join(SHOTS, "bench.png"), fullPage: true });
    await page.close();
    assert(rep.errors.length === 0, `errors: ${JSON.stringify(rep.errors)}`);
    const want = backends.length * (models ? models.length : 2);
    assert(rep.results.length === want && shown.results.length === want, `${rep.results.length} results, want ${want}`);
    for (const r of rep.results) {
      assert(Object.keys(r).slice(0, FIELDS.length).join() === FIELDS.join(), `fields ${Object.keys(r)}`);
      assert(r.runs === runs && r.p10_ms <= r.median_ms && r.median_ms <= r.p90_ms && r.median_ms > 0,
             `inconsistent record ${JSON.stringify(r)}`);
      const n = r.format === "tflite" ? 256 : size; // .tflite files run at their tile
      assert(r.input === `${n}x${n}` && r.input_shape.join() === `1,3,${n},${n}`, `input ${r.input}`);
      assert(r.file_size_bytes > 100000 && r.file === r.file.trim(), `file_size_bytes ${r.file_size_bytes}`);
    }
    const threads = rep.results.filter((r) => r.backend === "wasm").map((r) => r.threads);
    if (backends.includes("wasmN")) assert(threads.includes(2), `threads ${threads}`);
    measured[label] = rep;
    return rep.results.map((r) => `${r.model}/${r.backend}${r.threads ? "x" + r.threads : ""} ${r.median_ms.toFixed(1)} ms`).join(", ");
  };
  test("benchmark page: WASM 1 and N threads, ONNX fp32 and LiteRT int8, JSON with the documented fields", [],
       benchTest("bench_wasm", "cpu", ["wasm1", "wasmN"], 128, 3, true,
                 [fileOf("onnx", "fp32"), fileOf("tflite", "int8")]));

  if (WEBGPU) {
    test("WebGPU (SwiftShader): denoise >= 45 dB vs Python and a PSNR gain", ["apk", "gpu"], async () => {
      const page = await openPage(ctx.gpu(), url("index.html?ep=webgpu"));
      const r = await denoiseParity(page, den, "webgpu", 1, 128);
      await page.close();
      return checkDenoise(r, den, "denoise_webgpu");
    });
    test("benchmark page: WebGPU record (blind-spot model, 32x32)", ["gpu"],
         benchTest("bench_webgpu", "gpuCtx", ["webgpu"], 32, 3, false, [fileOf("onnx", "fp32")]));
  }

  test("no request left 127.0.0.1", ["apk"], async () => {
    assert(offHost.length === 0, `off-host requests: ${offHost.slice(0, 5).join(", ")}`);
    return "none";
  });
  return T.filter((t) => (!ONLY || t.tags.includes(ONLY)) && (!GREP || t.name.includes(GREP)));
}

// --------------------------------------------------------------------------------- main

async function main() {
  const started = Date.now();
  const fixtures = JSON.parse(readFileSync(FIXTURES, "utf8"));
  const server = await startServer({ root: ROOT, host: "127.0.0.1", port: 0 });
  const manifest = JSON.parse(readFileSync(join(ROOT, "models", "models.json"), "utf8"));
  const ctx = { fixtures, manifest, server, apk: ONLY === "apk", cpu: await launch(false), gpuBrowser: null,
                photo: join(dirname(FIXTURES), "photo_12mp_exif6.jpg"),
                cameraPhoto: join(dirname(FIXTURES), "camera_photo.png") };
  ctx.gpu = () => ctx.gpuBrowser;
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  let passed = 0, failed = 0;
  const report = [];
  const tests = defineTests(ctx);
  console.log(`serving ${ROOT} at ${server.url}; ${tests.length} tests`);
  try {
    for (const t of tests) {
      if (t.tags.includes("gpu")) {
        if (!ctx.gpuBrowser) ctx.gpuBrowser = await launch(true);
        ctx.gpuCtx = ctx.gpuBrowser;
      }
      const t0 = Date.now();
      const left = TOTAL_TIMEOUT - (t0 - started);
      let timer;
      try {
        if (left <= 0) throw new Error("total time limit reached");
        const note = await Promise.race([t.fn(), new Promise((_, no) => { timer = setTimeout(() => no(new Error(`timed out after ${left / 1000} s`)), left); })]);
        passed++;
        console.log(`ok   ${t.name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${note}`);
        report.push({ name: t.name, ok: true, note, seconds: (Date.now() - t0) / 1000 });
      } catch (e) {
        failed++;
        console.log(`FAIL ${t.name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${e.message}`);
        report.push({ name: t.name, ok: false, error: e.message, seconds: (Date.now() - t0) / 1000 });
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await ctx.cpu.close().catch(() => {});
    if (ctx.gpuBrowser) await ctx.gpuBrowser.close().catch(() => {});
    await server.close();
  }
  if (consoleErrors.length) console.log(`browser console errors (${consoleErrors.length}): ${consoleErrors.slice(0, 3).join(" | ")}`);
  if (RESULTS) writeFileSync(RESULTS, JSON.stringify({ root: ROOT, passed, failed, tests: report, measured }, null, 2));
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

const guard = setTimeout(() => { console.log("test run exceeded its time limit\n0 passed, 1 failed"); process.exit(1); },
                         TOTAL_TIMEOUT + 60000);
main().then((code) => { clearTimeout(guard); process.exit(code); },
            (e) => { console.log(`harness error: ${e.stack ?? e}\n0 passed, 1 failed`); process.exit(1); });
