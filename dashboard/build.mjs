// Build the dashboard into dist/: index.html and assets/ (app.js, app.css and lazily loaded
// chunks such as the rule editor). `npm run build`; `node build.mjs --watch` rebuilds on change.
import { copyFile, mkdir, rm } from "node:fs/promises";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const options = {
  entryPoints: { app: "src/main.js" },
  outdir: "dist/assets",
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  minify: !watch,
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  legalComments: "linked",
  logLevel: "warning",
};

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
await copyFile("index.html", "dist/index.html");
if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  const result = await esbuild.build({ ...options, metafile: true });
  const outputs = Object.entries(result.metafile.outputs).filter(
    ([name]) => !name.endsWith(".map"),
  );
  const total = outputs.reduce((sum, [, out]) => sum + out.bytes, 0);
  console.log(
    `dashboard: built ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB, into dist/`,
  );
}
