// Bundles a plugin's ES modules with the SDK and turns the bundle into a Weir component.
// build.sh runs this with the toolchain folder as the first argument. README.md describes
// the layout of a plugin folder.
//
// Usage: node build.mjs TOOLCHAIN_DIR SRC_DIR OUT.wasm

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [toolchainDir, sourceDir, outPath] = process.argv.slice(2);
if (!toolchainDir || !sourceDir || !outPath) {
  console.error("usage: node build.mjs TOOLCHAIN_DIR SRC_DIR OUT.wasm");
  process.exit(2);
}

const sdkDir = dirname(fileURLToPath(import.meta.url));
const sdkModule = join(sdkDir, "weir-plugin.js");
const witDir = resolve(sdkDir, "..", "wit");
const entry = resolve(sourceDir, "plugin.js");
if (!existsSync(entry)) {
  console.error(`error: ${entry} not found; a JavaScript plugin's entry module must be plugin.js`);
  process.exit(1);
}

// The tools are imported from the toolchain folder, not from a node_modules folder near the
// plugin, so that every build uses the versions pinned in package-lock.json.
const toolchainModule = (name, file) =>
  import(pathToFileURL(join(toolchainDir, "node_modules", name, file)).href);
const { rolldown } = await toolchainModule("rolldown", "dist/index.mjs");
const { componentize } = await toolchainModule("@bytecodealliance/componentize-js", "src/componentize.js");

// Every WASI feature of the StarlingMonkey engine is switched off, so the component imports
// nothing beyond the world `plugin`. The cost: console.* goes nowhere and an uncaught
// exception traps without a message, which is why the SDK logs exceptions through the
// imported `log` interface before it rethrows them.
const DISABLED_FEATURES = ["stdio", "random", "clocks", "http", "fetch-event"];

const workDir = await mkdtemp(join(tmpdir(), "weir-js-build-"));
try {
  const bundlePath = join(workDir, "plugin.bundle.js");
  const bundle = await rolldown({
    input: entry,
    platform: "neutral",
    // The engine resolves WIT interface imports such as `weir:plugin/log@0.1.0` itself.
    external: [/^weir:/, /^wasi:/],
    resolve: { alias: { "weir-plugin": sdkModule } },
    logLevel: "warn",
  });
  await bundle.write({ file: bundlePath, format: "esm", codeSplitting: false });
  await bundle.close();

  const { component } = await componentize({
    sourcePath: bundlePath,
    witPath: witDir,
    worldName: "plugin",
    disableFeatures: DISABLED_FEATURES,
  });
  await writeFile(outPath, component);
  console.error(`built ${outPath} (${component.length} bytes)`);
} finally {
  await rm(workDir, { recursive: true, force: true });
}
