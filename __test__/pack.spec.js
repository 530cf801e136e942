'use strict';

// The published packages, staged as the release stages them
// (scripts/release-manifest.js): the main package and the platform package
// of this machine with the addon just built. Both are packed and installed
// into an empty project offline, with a PATH that has no Rust toolchain, and
// used from CommonJS, ESM and TypeScript.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { ROOT } = require('./helpers');
const { stageMain, stagePlatform, platforms } = require('../scripts/release-manifest');

/** This machine's platform, read from the build in lib/. */
const built = fs.readdirSync(path.join(ROOT, 'lib')).find((f) => /^synchronik\..+\.node$/.test(f));
const platform = /** @type {string} */ (built).slice('synchronik.'.length, -'.node'.length);

/** PATH without any folder that holds cargo or rustc. */
const noRustPath = (process.env.PATH || '')
  .split(path.delimiter)
  .filter((dir) => dir && !['cargo', 'rustc', 'cargo.exe', 'rustc.exe'].some((tool) => fs.existsSync(path.join(dir, tool))))
  .join(path.delimiter);
const noRust = { PATH: noRustPath, CARGO_HOME: '/nonexistent', RUSTUP_HOME: '/nonexistent' };

jest.setTimeout(120000);

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command; resolves with { code, stdout, stderr }. */
function exec(command, args, cwd, timeoutMs = 90000, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Fails with the command's output when it did not exit with 0. */
function ok(result, what) {
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code} (${result.signal})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  return result;
}

describe('npm pack → npm install without Rust → use', () => {
  let tmp;
  let tarball;
  let packed;
  let platformPacked;
  let app;
  let mainDir;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-pack-'));
    const dest = path.join(tmp, 'dist');
    fs.mkdirSync(dest);
    const stage = path.join(tmp, 'stage');
    /** @param {string} dir */
    const pack = async (dir) => {
      const result = ok(await exec(npm, ['pack', '--json', '--pack-destination', dest], dir), `npm pack ${dir}`);
      return JSON.parse(result.stdout)[0];
    };
    mainDir = stageMain(stage);
    packed = await pack(mainDir);
    tarball = path.join(dest, packed.filename);
    platformPacked = await pack(stagePlatform(stage, platform, path.join(ROOT, 'lib', built)));

    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    ok(await exec(npm, ['init', '-y'], app), 'npm init');
    const args = ['install', tarball, path.join(dest, platformPacked.filename), '--no-audit', '--no-fund'];
    const install = await exec(npm, [...args, '--offline'], app, 90000, noRust);
    if (install.code !== 0) {
      // nothing needs the registry, so offline should do; fall back if the npm at hand disagrees
      ok(await exec(npm, [...args, '--prefer-offline'], app, 90000, noRust), 'npm install');
    }
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds the MIT license that package.json names', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toContain('LICENSE');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const license = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(pkg.license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 synchronik contributors\n/);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  test('the main tarball holds the entries and the facade, no addon, no sources or tests; the platform tarball holds the addon', () => {
    expect(fs.existsSync(tarball)).toBe(true);
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'index.js', 'index.mjs', 'index.d.ts', 'index.d.mts', 'lib/manager.js', 'lib/errors.js', 'lib/validate.js', 'lib/native.js', 'lib/generated/vocabulary.js', 'CHANGELOG.md']));
    expect(files.filter((f) => f.endsWith('.node'))).toEqual([]);
    expect(files.filter((f) => /^(__test__|crates|src|target|bench|soak|scripts|npm|examples)\//.test(f))).toEqual([]);
    expect(platformPacked.name).toBe(`synchronik-${platform}`);
    expect(platformPacked.files.map((f) => f.path).sort()).toEqual(['README.md', 'package.json', built]);
  });

  test('publint and arethetypeswrong find nothing wrong with the main package', async () => {
    /** The file a devDependency's bin runs. @param {string} pkg @param {string} bin */
    const binOf = (pkg, bin) => {
      const dir = path.join(ROOT, 'node_modules', pkg);
      return path.join(dir, JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).bin[bin]);
    };
    const lint = ok(await exec(process.execPath, [binOf('publint', 'publint'), '--strict'], mainDir), 'publint');
    expect(lint.stdout).toContain('All good!');
    const types = ok(await exec(process.execPath, [binOf('@arethetypeswrong/cli', 'attw'), '--pack', '.', '--format', 'json'], mainDir), 'attw');
    const report = JSON.parse(types.stdout);
    expect(report.analysis.problems).toEqual([]);
  });

  test('no Rust toolchain on the PATH of the install, and no script in what was installed', () => {
    for (const dir of noRustPath.split(path.delimiter)) expect(fs.existsSync(path.join(dir, 'cargo'))).toBe(false);
    for (const name of ['synchronik', `synchronik-${platform}`]) {
      const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8'));
      expect(installed.scripts).toBeUndefined();
      expect(installed.dependencies || {}).toEqual({});
    }
  });

  test('the main package names every platform package as an optional dependency at its own version', () => {
    const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'synchronik', 'package.json'), 'utf8'));
    expect(installed.name).toBe('synchronik');
    expect(installed.optionalDependencies).toEqual(Object.fromEntries(platforms().map((p) => [p.manifest.name, installed.version])));
    expect(Object.keys(installed.optionalDependencies)).toContain(`synchronik-${platform}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['synchronik', `synchronik-${platform}`]);
  });

  test('TypeScript: a 2.3-style program compiles against the installed types and runs on the platform package', async () => {
    fs.writeFileSync(
      path.join(app, 'main.ts'),
      `import { createSynchronikManager, type SynchronikWorker } from 'synchronik';

const manager = createSynchronikManager();
const worker: SynchronikWorker = {
  id: 'greeter',
  name: 'Greeter',
  enabled: true,
  run: async () => 'hello',
};
manager.registerUnit(worker);
manager.onComplete((e) => console.log(e.unitId, 'completed with', e.result));
manager.runWorkerById('greeter').then(() => {
  console.log('status', manager.getUnitStatus('greeter'));
  console.log('engine', require.resolve('synchronik-${platform}'));
});
`,
    );
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, outDir: 'out', typeRoots: [path.join(ROOT, 'node_modules', '@types')], types: ['node'] },
        files: ['main.ts'],
      }),
    );
    ok(await exec(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app, 60000, noRust), 'tsc');
    const result = ok(await exec(process.execPath, [path.join('out', 'main.js')], app, 20000, noRust), 'node out/main.js');
    expect(result.stdout.trim().split('\n')).toEqual([
      'greeter completed with hello',
      'status completed',
      `engine ${path.join(fs.realpathSync(app), 'node_modules', `synchronik-${platform}`, built)}`,
    ]);
  });

  test('CommonJS: require("synchronik") from the installed copy', async () => {
    fs.writeFileSync(
      path.join(app, 'main.js'),
      `'use strict';
const { createSynchronikManager, SynchronikError } = require('synchronik');
const manager = createSynchronikManager();
const order = [];
manager.subscribeToEvents((e) => order.push(e.type));
manager.registerUnit({ id: 'hello', run: async (ctx) => 'hello from ' + ctx.unitId });
manager.onComplete((e) => console.log('result:', e.result));
manager.runWorkerById('hello').then(() => {
  console.log('status:', manager.getUnitStatus('hello'));
  console.log('events:', order.join(','));
  console.log('resolved:', require.resolve('synchronik'));
  console.log('error class:', typeof SynchronikError);
});
`,
    );
    const result = ok(await exec(process.execPath, ['main.js'], app, 20000), 'node main.js');
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('result: hello from hello');
    expect(lines[1]).toBe('status: completed');
    expect(lines[2]).toBe('events: updated,start,updated,complete');
    expect(lines[3]).toBe(`resolved: ${path.join(fs.realpathSync(app), 'node_modules', 'synchronik', 'index.js')}`);
    expect(lines[4]).toBe('error class: function');
  });

  test('ESM: import { createSynchronikManager } from "synchronik" in an .mjs file', async () => {
    fs.writeFileSync(
      path.join(app, 'main.mjs'),
      `import { createSynchronikManager } from 'synchronik';
const manager = createSynchronikManager();
manager.registerUnit({
  id: 'pipeline',
  runMode: 'parallel',
  workers: [
    { id: 'a', run: async () => 1 },
    { id: 'b', run: () => 2 },
  ],
});
const results = {};
manager.onComplete((e) => { results[e.unitId] = e.result; });
await manager.runProcessById('pipeline');
console.log(JSON.stringify({ status: manager.getUnitStatus('pipeline'), a: results.a, b: results.b, resolved: typeof import.meta.resolve === 'function' ? String(import.meta.resolve('synchronik')) : 'file:///node_modules/synchronik/index.mjs' }));
`,
    );
    const result = ok(await exec(process.execPath, ['main.mjs'], app, 20000), 'node main.mjs');
    const out = JSON.parse(result.stdout);
    // import.meta.resolve needs Node >= 20.6; the ESM entry is index.mjs
    expect(out).toEqual({ status: 'completed', a: 1, b: 2, resolved: expect.stringMatching(/\/node_modules\/synchronik\/index\.mjs$/) });
  });
});
