// Bundles src/main.ts with its dependencies into dist/main.js, plus chunks that load only
// when first needed (the inbox, the CLI tools, undici, the MIME parser). Start-up then reads
// a few files instead of a few hundred modules: SPEC §7 cold start. dist/ holds only this
// output (what the package ships); `tsc` type-checks and emits per-module files to
// build/modules/ for test helpers that import one module alone.
// `--clean` (run by `npm pack`) empties dist/ first, so no stale chunk is packed.
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { build } from "esbuild";

const dist = new URL("../dist/", import.meta.url);
if (process.argv.includes("--clean")) await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

// zod's classic entry re-exports every locale (`z.locales`), ~260 KB that start-up would
// compile and run; nothing here uses a locale but English, which zod configures itself.
const englishOnlyZodLocales = {
  name: "english-only-zod-locales",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer)
        ? { path: "zod-locales-en", namespace: "english-only-zod-locales", pluginData: args.resolveDir }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "english-only-zod-locales" }, (args) => ({
      contents: 'export { default as en } from "../locales/en.js";',
      resolveDir: args.pluginData,
      loader: "js",
    }));
  },
};

// The SDK's server also takes zod v3 schemas (through zod/v3 and zod-to-json-schema) and
// checks elicitation answers with ajv (+ ajv-formats, fast-uri). This server hands it only
// zod v4 schemas and never elicits, so those ~200 KB, which start-up would compile and ajv's
// constructor would run, are left out: each is replaced by a stub that says so if reached.
const unusedSdkParts = {
  name: "unused-sdk-parts",
  setup(b) {
    const left = (what) =>
      `throw new Error("mail-events-mcp's bundle leaves out ${what}: its own code never needs it")`;
    // What each SDK server module imports, and what it gets instead.
    const stubs = [
      {
        importer: "zod-compat.js",
        spec: "zod/v3",
        contents: `export function object() { ${left("zod v3 schemas")} }`,
      },
      {
        importer: "zod-json-schema-compat.js",
        spec: "zod-to-json-schema",
        contents: `export function zodToJsonSchema() { ${left("zod v3 schemas")} }`,
      },
      {
        importer: "index.js",
        spec: "../validation/ajv-provider.js",
        contents: `export class AjvJsonSchemaValidator { getValidator() { ${left("elicitation (ajv)")} } }`,
      },
    ];
    const sdkServer = "/@modelcontextprotocol/sdk/dist/esm/server/";
    b.onResolve({ filter: /^(zod\/v3|zod-to-json-schema|\.\.\/validation\/ajv-provider\.js)$/ }, (args) => {
      const from = args.importer.replaceAll("\\", "/");
      const stub = stubs.find((s) => s.spec === args.path && from.endsWith(`${sdkServer}${s.importer}`));
      return stub === undefined
        ? undefined
        : { path: stub.spec, namespace: "unused-sdk-parts", pluginData: stub.contents };
    });
    b.onLoad({ filter: /.*/, namespace: "unused-sdk-parts" }, (args) => ({
      contents: args.pluginData,
      loader: "js",
    }));
  },
};

const result = await build({
  plugins: [englishOnlyZodLocales, unusedSdkParts],
  entryPoints: { main: new URL("../src/main.ts", import.meta.url).pathname },
  outdir: dist.pathname,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  minify: true,
  allowOverwrite: true,
  logLevel: "warning",
  metafile: true,
  // Bundled CommonJS dependencies call require() and may read __filename or __dirname; an
  // ES module has none of them, so every output file defines them.
  banner: {
    js: [
      'import { createRequire as __bundleRequire } from "node:module";',
      'import { fileURLToPath as __bundlePath } from "node:url";',
      "const require = __bundleRequire(import.meta.url);",
      "const __filename = __bundlePath(import.meta.url);",
      'const __dirname = __bundlePath(new URL(".", import.meta.url));',
    ].join(" "),
  },
});

// Chunk names carry a content hash. A server started from an earlier build may still load
// one of its chunks lazily, so old chunks go only once they are an hour old.
const current = new Set(Object.keys(result.metafile.outputs).map((path) => path.split("/").at(-1)));
const chunks = new URL("chunks/", dist);
for (const name of await readdir(chunks)) {
  const file = new URL(name, chunks);
  if (!current.has(name) && Date.now() - (await stat(file)).mtimeMs > 3_600_000)
    await rm(file, { force: true });
}
