// Minifies wasm-bindgen's JS glue in a built dist/ with terser (Trunk's own minifier cannot parse it:
// see Trunk.toml) and puts the new file's hash in index.html's `integrity` attribute, which Trunk
// computed for the file as it was. Run by scripts/setup after `trunk build`, before compressing:
//
//   node scripts/minify-glue.mjs dist
//
// Only whitespace, comments and local names change: terser keeps the module's exports and every
// property name, which the wasm module and the page (`window.wasmBindings`) look up by name.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = process.argv[2];
if (!dist) throw new Error('usage: node scripts/minify-glue.mjs DIST_DIR');
// terser is an npm package of e2e/ (installed by scripts/setup with the rest).
const here = dirname(fileURLToPath(import.meta.url));
const { minify } = createRequire(resolve(here, '../e2e/package.json'))('terser');

const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
const indexFile = join(dist, 'index.html');
let index = readFileSync(indexFile, 'utf8');
const glue = readdirSync(dist).filter((name) => /^nonstop-app-[0-9a-f]+\.js$/.test(name));
if (glue.length !== 1) throw new Error(`expected one nonstop-app-*.js in ${dist}, found ${glue.length}`);
for (const name of glue) {
  const file = join(dist, name);
  const before = readFileSync(file);
  const { code } = await minify(before.toString('utf8'), { module: true, compress: true, mangle: true });
  if (!code) throw new Error(`terser produced nothing for ${name}`);
  const was = sri(before);
  if (!index.includes(was)) throw new Error(`${indexFile} does not carry ${name}'s integrity (${was})`);
  writeFileSync(file, code);
  index = index.replace(was, sri(Buffer.from(code, 'utf8')));
  console.log(`setup: minified ${name} (${before.length} → ${Buffer.byteLength(code)} bytes)`);
}
writeFileSync(indexFile, index);
