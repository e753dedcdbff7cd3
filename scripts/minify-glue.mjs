// Minifies wasm-bindgen's JS glue in a built dist/ with terser (Trunk's own minifier cannot parse it:
// see Trunk.toml), shortens the names the wasm module imports from the glue, and puts the new files'
// hashes in index.html's `integrity` attributes, which Trunk computed for the files as they were.
// Both files are then named after their new content. Run by scripts/setup after `trunk build`,
// before compressing:
//
//   node scripts/minify-glue.mjs dist
//
// Only whitespace, comments and local names change in the glue: terser keeps the module's exports and
// every property name, which the wasm module and the page (`window.wasmBindings`) look up by name.
// The import names are the one exception, renamed on both sides: wasm-bindgen names each import
// `__wbg_<name>_<16 hex digits>` under the module `./nonstop-app_bg.js`, and the wasm module repeats
// the module name with every import. Both are only the keys the glue hands to
// `WebAssembly.instantiate`; short ones save about 6.7 KB of brotli, wasm and glue together (the hex
// digits do not compress). Imports from any other module (a JS snippet's) keep their names.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
const name = glue[0];
const wasmName = name.replace(/\.js$/, '_bg.wasm');

// Replaces a file of dist/ and the integrity hash index.html carries for it.
function replace(name, before, after) {
  const was = sri(before);
  if (!index.includes(was)) throw new Error(`${indexFile} does not carry ${name}'s integrity (${was})`);
  writeFileSync(join(dist, name), after);
  index = index.replace(was, sri(after));
  console.log(`setup: minified ${name} (${before.length} → ${after.length} bytes)`);
}

// The wasm module's imports from the glue, renamed: module `a`, names a, b, … (the glue's import
// object keys).
const GLUE_MODULE = './nonstop-app_bg.js';
const IMPORT_MODULE = 'a';
const shortName = (i) => {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let s = '';
  do {
    s = letters[i % letters.length] + s;
    i = Math.floor(i / letters.length) - 1;
  } while (i >= 0);
  return s;
};

function renameImports(wasm) {
  const leb = (at) => {
    let value = 0, shift = 0, byte;
    do {
      byte = wasm[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return [value, at];
  };
  const toLeb = (value) => {
    const out = [];
    do {
      let byte = value & 0x7f;
      value = Math.floor(value / 128);
      if (value) byte |= 0x80;
      out.push(byte);
    } while (value);
    return Buffer.from(out);
  };
  const str = (s) => Buffer.concat([toLeb(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
  const limits = (at) => {
    const flags = wasm[at++];
    [, at] = leb(at);
    if (flags & 1) [, at] = leb(at);
    return at;
  };
  if (wasm.readUInt32LE(0) !== 0x6d736100 || wasm.readUInt32LE(4) !== 1) throw new Error('not a wasm module');
  let at = 8;
  while (at < wasm.length) {
    const id = wasm[at];
    const [size, start] = leb(at + 1);
    if (id !== 2) {
      at = start + size;
      continue;
    }
    let [count, p] = leb(start);
    const entries = [toLeb(count)];
    const renamed = new Map();
    const modules = new Set();
    for (let i = 0; i < count; i++) {
      let len;
      [len, p] = leb(p);
      const mod = wasm.toString('utf8', p, p + len);
      p += len;
      [len, p] = leb(p);
      const field = wasm.toString('utf8', p, p + len);
      p += len;
      const descStart = p;
      const kind = wasm[p++];
      if (kind === 0) [, p] = leb(p); // function: type index
      else if (kind === 1) p = limits(p + 1); // table: reference type, limits
      else if (kind === 2) p = limits(p); // memory
      else if (kind === 3) p += 2; // global: value type, mutability
      else if (kind === 4) [, p] = leb(p + 1); // tag: attribute, type index
      else throw new Error(`unknown import kind ${kind}`);
      modules.add(mod);
      // Only the glue's own imports; any other module (a JS snippet's) keeps its names.
      if (mod === GLUE_MODULE) {
        if (renamed.has(field)) throw new Error(`import ${field} twice`);
        renamed.set(field, shortName(renamed.size));
        entries.push(str(IMPORT_MODULE), str(renamed.get(field)));
      } else {
        entries.push(str(mod), str(field));
      }
      entries.push(wasm.subarray(descStart, p));
    }
    if (p !== start + size) throw new Error('import section not read to its end');
    if (!modules.has(GLUE_MODULE)) throw new Error(`the wasm module imports nothing from ${GLUE_MODULE}`);
    if (modules.has(IMPORT_MODULE)) throw new Error(`the wasm module already imports from ${IMPORT_MODULE}`);
    const body = Buffer.concat(entries);
    const out = Buffer.concat([wasm.subarray(0, at), Buffer.from([2]), toLeb(body.length), body, wasm.subarray(p)]);
    return { out, renamed };
  }
  throw new Error('the wasm module has no imports');
}

// The glue's import object, keyed the same way. Each old name must occur in it exactly once, as a key.
function renameInGlue(js, renamed) {
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const once = (js, pattern, to, what) => {
    const re = new RegExp(pattern, 'g');
    const found = js.match(re)?.length ?? 0;
    if (found !== 1) throw new Error(`${what} occurs ${found} times in the glue, not once`);
    return js.replace(re, to);
  };
  js = once(js, `"${escape(GLUE_MODULE)}":`, `"${IMPORT_MODULE}":`, `the import module "${GLUE_MODULE}"`);
  for (const [from, to] of renamed) {
    js = once(js, `(?<![\\w$])${escape(from)}(?=\\s*:)`, to, `the import ${from}`);
  }
  return js;
}

const wasmBefore = readFileSync(join(dist, wasmName));
const { out: wasmAfter, renamed } = renameImports(wasmBefore);
const before = readFileSync(join(dist, name));
const renamedGlue = renameInGlue(before.toString('utf8'), renamed);
const { code } = await minify(renamedGlue, { module: true, compress: true, mangle: true });
if (!code) throw new Error(`terser produced nothing for ${name}`);
const codeBytes = Buffer.from(code, 'utf8');
replace(wasmName, wasmBefore, wasmAfter);
replace(name, before, codeBytes);

// Trunk's hash in the two names is of the code before wasm-opt and the steps above, which change
// what both files hold (and must be served as a pair): they are named after what they now hold, or
// a browser that cached one of them under the same name (immutable) could pair it with a new other.
const oldStem = name.replace(/\.js$/, '');
const newStem = `nonstop-app-${createHash('sha256').update(codeBytes).update(wasmAfter).digest('hex').slice(0, 16)}`;
if (!index.includes(`/${oldStem}.js`) || !index.includes(`/${oldStem}_bg.wasm`)) {
  throw new Error(`${indexFile} does not name ${oldStem}.js and ${oldStem}_bg.wasm`);
}
index = index.replaceAll(`/${oldStem}.js`, `/${newStem}.js`).replaceAll(`/${oldStem}_bg.wasm`, `/${newStem}_bg.wasm`);
writeFileSync(indexFile, index);
renameSync(join(dist, `${oldStem}.js`), join(dist, `${newStem}.js`));
renameSync(join(dist, `${oldStem}_bg.wasm`), join(dist, `${newStem}_bg.wasm`));
console.log(`setup: renamed ${oldStem}.js and _bg.wasm to ${newStem}.js and _bg.wasm`);
