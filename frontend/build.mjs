// Type-checks the sources (tsc --noEmit, strict), bundles and minifies them with esbuild, and
// writes the page the gateway serves: index.html plus content-hashed assets (served immutable),
// into src/mp3converter/web_ui/ (git-ignored; shipped as package data).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "mp3converter", "web_ui");
const assets = join(out, "assets");

execFileSync(process.execPath, [join(here, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", here], {
  stdio: "inherit",
});

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.ts" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  entryNames: "[name]-[hash]",
  outdir: assets,
  metafile: true,
  legalComments: "eof",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.endsWith(".js"));
const style = outputs.find((name) => name.endsWith(".css"));
if (!script || !style) throw new Error(`esbuild wrote ${outputs.join(", ")}: no script or style`);

const svg = readFileSync(join(here, "src", "icon.svg"));
const icon = `icon-${createHash("sha256").update(svg).digest("hex").slice(0, 10)}.svg`;
writeFileSync(join(assets, icon), svg);

const page = readFileSync(join(here, "index.html"), "utf8")
  .replaceAll("%ICON%", `/assets/${icon}`)
  .replaceAll("%CSS%", `/assets/${style}`)
  .replaceAll("%JS%", `/assets/${script}`);
writeFileSync(join(out, "index.html"), page);

console.log(`web UI: ${join(out, "index.html")} + assets/${script}, ${style}, ${icon}`);
