'use strict';

// What is published, staged in a folder of its own: the main package (the
// files package.json lists, a manifest whose optionalDependencies name every
// platform package at the same version, and no scripts: a user's install
// runs none) and the platform packages of npm/ that have their addon.
//
//   node scripts/release-manifest.js <out> [<platform>=<addon.node> …]
//
// stages <out>/synchronik and <out>/synchronik-<platform> for each addon
// given; `npm pack` or `npm publish` each folder. The release workflow and
// the pack test use it the same way.

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** The platform packages: npm/<platform>/package.json, by platform. */
function platforms() {
  const dir = path.join(ROOT, 'npm');
  return fs
    .readdirSync(dir)
    .filter((p) => fs.existsSync(path.join(dir, p, 'package.json')))
    .sort()
    .map((p) => ({ platform: p, dir: path.join(dir, p), manifest: JSON.parse(fs.readFileSync(path.join(dir, p, 'package.json'), 'utf8')) }));
}

/** The published manifest of the main package. */
function mainManifest() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const published = { ...pkg };
  delete published.scripts;
  delete published.devDependencies;
  delete published.allowScripts;
  published.optionalDependencies = Object.fromEntries(platforms().map(({ manifest }) => [manifest.name, pkg.version]));
  return published;
}

/** Copies `from` (a file or a folder) to `to`. */
function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
}

/**
 * Stages the main package in `<out>/synchronik`; returns that folder.
 * @param {string} out
 */
function stageMain(out) {
  const manifest = mainManifest();
  const dest = path.join(out, 'synchronik');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  for (const pattern of [...manifest.files, 'README.md', 'LICENSE']) {
    const star = pattern.indexOf('*');
    if (star === -1) {
      copy(path.join(ROOT, pattern), path.join(dest, pattern));
      continue;
    }
    // `dir/*.ext`: the files of dir that end with .ext.
    const dir = path.dirname(pattern);
    const suffix = pattern.slice(star + 1);
    for (const f of fs.readdirSync(path.join(ROOT, dir))) {
      if (f.endsWith(suffix) && fs.statSync(path.join(ROOT, dir, f)).isFile()) copy(path.join(ROOT, dir, f), path.join(dest, dir, f));
    }
  }
  fs.writeFileSync(path.join(dest, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dest;
}

/**
 * Stages the platform package of `platform` with the addon at `addon` in
 * `<out>/synchronik-<platform>`; returns that folder.
 * @param {string} out
 * @param {string} platform
 * @param {string} addon
 */
function stagePlatform(out, platform, addon) {
  const found = platforms().find((p) => p.platform === platform);
  if (!found) throw new Error(`no platform package npm/${platform} (there are: ${platforms().map((p) => p.platform).join(', ')})`);
  const [file] = found.manifest.files;
  const dest = path.join(out, found.manifest.name);
  fs.rmSync(dest, { recursive: true, force: true });
  copy(found.dir, dest);
  copy(addon, path.join(dest, file));
  return dest;
}

module.exports = { mainManifest, platforms, stageMain, stagePlatform };

if (require.main === module) {
  const [out, ...addons] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node scripts/release-manifest.js <out> [<platform>=<addon.node> …]');
    process.exit(2);
  }
  console.log(stageMain(path.resolve(out)));
  for (const a of addons) {
    const [platform, addon] = a.split('=');
    console.log(stagePlatform(path.resolve(out), platform, path.resolve(addon)));
  }
}
