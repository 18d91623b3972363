// Tiny static file server for the demo with the headers that make the page
// cross-origin isolated (COOP/COEP), so onnxruntime-web can use WASM threads.
//
//   node scripts/serve.mjs [--root web] [--host 127.0.0.1] [--port 8080] [--timeout SECONDS]
//
// Binds 127.0.0.1 unless told otherwise (--host 0.0.0.0 to reach it from a phone on
// the LAN); --timeout stops it by itself after that many seconds (0 = run until Ctrl-C).
import { createServer } from "node:http";
import { readFile, realpath, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".svg": "image/svg+xml",
};

export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const refuse = (code) => Object.assign(new Error(), { code });
const inside = (path, dir) => path === dir || path.startsWith(dir + sep);

/** Start serving `root`; resolves to {server, url, close()}.
 *
 * Only regular files whose real path (symlinks resolved) lies under the root's real
 * path are served: a link inside the root that points elsewhere (to ~/.ssh, say)
 * gets 403, like a `..` path does. */
export async function startServer({ root, host = "127.0.0.1", port = 0 }) {
  const base = await realpath(resolve(root));
  const server = createServer(async (req, res) => {
    const headers = { ...ISOLATION_HEADERS, "Cache-Control": "no-cache" };
    try {
      let path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
      if (path.endsWith("/")) path += "index.html";
      const file = normalize(join(base, path));
      if (!inside(file, base)) throw refuse("EACCES");
      const real = await realpath(file);
      if (!inside(real, base)) throw refuse("EACCES");
      const info = await stat(real);
      if (!info.isFile()) throw refuse("ENOENT");
      const body = await readFile(real);
      res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
                           "Content-Length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      const code = e.code === "EACCES" ? 403 : 404;
      res.writeHead(code, { ...headers, "Content-Type": "text/plain" });
      res.end(`${code}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      ok({ server, url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${p}/`,
           close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }) });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const here = fileURLToPath(new URL("..", import.meta.url));
  const root = opt("root", join(here, "web"));
  const { url, close } = await startServer({ root, host: opt("host", "127.0.0.1"),
                                             port: Number(opt("port", "8080")) });
  console.log(`serving ${root} at ${url} (COOP/COEP set)`);
  const timeout = Number(opt("timeout", "0"));
  if (timeout > 0) setTimeout(() => close().then(() => process.exit(0)), timeout * 1000).unref?.();
  if (timeout > 0) setTimeout(() => {}, timeout * 1000 + 100);
  process.on("SIGINT", () => close().then(() => process.exit(0)));
}
