// Headless Debian Chromium for the tests and the headless benchmark, driven by
// playwright-core: fixed flags, a fresh profile folder per launch (playwright passes it
// as --user-data-dir), and a route rule that aborts and reports every request that is
// not for 127.0.0.1.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
// WebGPU without a GPU: Dawn on SwiftShader's Vulkan (CPU) implementation.
export const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader",
  "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-angle=swiftshader"];

export async function launchChromium({ webgpu = false, onOffHost = () => {}, viewport = { width: 760, height: 900 } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "edgerestore-demo-chromium-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? WEBGPU_FLAGS : [])],
    viewport,
  });
  await ctx.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:" || url.protocol === "blob:") return route.continue();
    onOffHost(url.href);
    return route.abort();
  });
  return { ctx, close: async () => { await ctx.close(); rmSync(dir, { recursive: true, force: true }); } };
}
