// Run the benchmark page headless on this machine and save its JSON report.
//
//   node scripts/bench_headless.mjs [--size 256] [--runs 10] [--warmup 2]
//        [--backends wasm1,wasmN,webgpu] [--models FILE|MODEL,...] [--out build/bench.json] [--root web]
//
// WebGPU runs on SwiftShader (a CPU Vulkan), so its numbers say nothing about a GPU.
// The report gains `phone_like`: per model, today's path (ONNX fp32 on onnxruntime-web,
// WASM 1 thread, as an Android WebView runs it) against the fastest WASM 1-thread
// record of the same run, and the speed-up.
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./browser.mjs";
import { startServer } from "./serve.mjs";

const DEMO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const backends = opt("backends", "wasm1,wasmN,webgpu");
const out = resolve(opt("out", join(DEMO, "build", "bench.json")));
const server = await startServer({ root: resolve(opt("root", join(DEMO, "web"))) });
const offHost = [];
const browser = await launchChromium({ webgpu: backends.includes("webgpu"), onOffHost: (u) => offHost.push(u) });
const timer = setTimeout(() => { console.error("benchmark timed out"); process.exit(1); }, Number(opt("timeout", "900")) * 1000);
try {
  const page = await browser.ctx.newPage();
  const q = new URLSearchParams({ autorun: "1", size: opt("size", "256"), runs: opt("runs", "10"),
                                  warmup: opt("warmup", "2"), backends });
  if (opt("models", null)) q.set("models", opt("models", null));
  await page.goto(`${server.url}bench.html?${q}`);
  await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 0 });
  const report = await page.evaluate(() => window.benchReport);
  report.command = `node scripts/bench_headless.mjs ${argv.join(" ")}`.trim();
  report.phone_like = {};
  for (const model of new Set(report.results.map((r) => r.model))) {
    const one = report.results.filter((r) => r.model === model && r.backend === "wasm" && r.threads === 1);
    const today = one.find((r) => r.format === "onnx" && r.precision === "fp32");
    const best = one.reduce((a, b) => (a && a.median_ms <= b.median_ms ? a : b), null);
    if (today && best) {
      report.phone_like[model] = { today: today.file, today_median_ms: today.median_ms, fastest: best.file,
                                   fastest_runtime: best.runtime, fastest_median_ms: best.median_ms,
                                   speedup: today.median_ms / best.median_ms };
    }
  }
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  for (const r of report.results) {
    console.log(`${r.file.padEnd(46)} ${r.backend.padEnd(7)} threads ${String(r.threads ?? "-").padEnd(2)} ${r.input}`
      + `  median ${r.median_ms.toFixed(1)} ms  p10 ${r.p10_ms.toFixed(1)}  p90 ${r.p90_ms.toFixed(1)}`
      + `  first ${r.first_run_ms.toFixed(0)}  session ${r.session_ms.toFixed(0)} ms`);
  }
  for (const [m, c] of Object.entries(report.phone_like)) {
    console.log(`${m}: WASM 1 thread ${c.today} ${c.today_median_ms.toFixed(0)} ms -> ${c.fastest} ${c.fastest_median_ms.toFixed(0)} ms (${c.speedup.toFixed(1)}x)`);
  }
  for (const e of report.errors) console.log(`error: ${JSON.stringify(e)}`);
  if (offHost.length) throw new Error(`off-host requests: ${offHost.join(", ")}`);
  console.log(`wrote ${out}`);
} finally {
  clearTimeout(timer);
  await browser.close();
  await server.close();
}
