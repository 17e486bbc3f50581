// Deterministic hash of everything that shapes ui_dist/, written to
// ui_dist/.source-hash by the build and recomputed by tests/test_ui_dist.py.
//
// Algorithm (keep in sync with tests/test_ui_dist.py):
//   inputs  = index.html, package.json, package-lock.json, tsconfig.json,
//             vite.config.ts, and every file under src/ and scripts/,
//             excluding any node_modules/ folder and *.test.ts / *.test.tsx;
//   order   = relative POSIX paths sorted by code point;
//   digest  = sha256 over, for each input, `<path>\0<sha256 hex of content>\n`,
//             where content has CRLF normalised to LF;
//   output  = the hex digest followed by a newline.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const ROOT_FILES = ['index.html', 'package.json', 'package-lock.json', 'tsconfig.json', 'vite.config.ts'];
const TREES = ['src', 'scripts'];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
}

function isTest(path) {
  return path.endsWith('.test.ts') || path.endsWith('.test.tsx');
}

export function sourceFiles(uiDir) {
  const files = [];
  for (const f of ROOT_FILES) if (existsSync(join(uiDir, f))) files.push(join(uiDir, f));
  for (const t of TREES) if (existsSync(join(uiDir, t))) walk(join(uiDir, t), files);
  return files
    .map((f) => relative(uiDir, f).split(sep).join('/'))
    .filter((p) => !isTest(p))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function sourceHash(uiDir) {
  const outer = createHash('sha256');
  for (const rel of sourceFiles(uiDir)) {
    const text = readFileSync(join(uiDir, rel)).toString('binary').replace(/\r\n/g, '\n');
    const inner = createHash('sha256').update(Buffer.from(text, 'binary')).digest('hex');
    outer.update(`${rel}\0${inner}\n`, 'utf8');
  }
  return outer.digest('hex');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(sourceHash(process.cwd()) + '\n');
}
