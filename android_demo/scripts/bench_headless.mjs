// Run the benchmark page headless on this machine and save its JSON report.
//
//   node scripts/bench_headless.mjs [--size 256] [--runs 10] [--warmup 2]
//        [--backends wasm1,wasmN,webgpu] [--out build/bench.json] [--root web]
//
// WebGPU runs on SwiftShader (a CPU Vulkan), so its numbers say nothing about a GPU.
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
  await page.goto(`${server.url}bench.html?${q}`);
  await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 0 });
  const report = await page.evaluate(() => window.benchReport);
  report.command = `node scripts/bench_headless.mjs ${argv.join(" ")}`.trim();
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  for (const r of report.results) {
    console.log(`${r.model.padEnd(28)} ${r.backend.padEnd(7)} threads ${String(r.threads ?? "-").padEnd(2)} ${r.input}`
      + `  median ${r.median_ms.toFixed(1)} ms  p10 ${r.p10_ms.toFixed(1)}  p90 ${r.p90_ms.toFixed(1)}`
      + `  first ${r.first_run_ms.toFixed(0)}  session ${r.session_ms.toFixed(0)} ms`);
  }
  for (const e of report.errors) console.log(`error: ${JSON.stringify(e)}`);
  if (offHost.length) throw new Error(`off-host requests: ${offHost.join(", ")}`);
  console.log(`wrote ${out}`);
} finally {
  clearTimeout(timer);
  await browser.close();
  await server.close();
}
