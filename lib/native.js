// @ts-check
'use strict';

// Loads the engine's compiled addon. First the package built for this
// platform (`synchronik-<platform>`: npm installs the one that fits as an
// optional dependency of the published package), then a build from source
// next to this file (a clone of the repository: `npm install` runs
// `npm run build`). When neither loads, the error names the platform, what
// was tried and what to do. NAPI_RS_NATIVE_LIBRARY_PATH (the variable
// napi-rs loaders read) names a build to load instead of both, for instance
// another build to compare with; it is used or the load fails.

const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

/** The platforms published as packages (the `napi.targets` of package.json). */
const PUBLISHED = ['linux-x64-gnu', 'linux-arm64-gnu', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc'];

/**
 * Whether this Linux runs on musl (Alpine) rather than glibc: musl's ldd
 * says so; where there is no ldd to read, the process report's header does
 * (making a whole report adds about a megabyte of resident memory to every
 * process that loads the engine, reading the file nothing to speak of).
 */
function isMusl() {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    const header = /** @type {any} */ (process.report?.getReport?.())?.header;
    return header ? !header.glibcVersionRuntime : false;
  }
}

/** This machine's platform, named as the packages are (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`). */
function platformName() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** @param {unknown} e */
const reason = (e) => String((e && /** @type {Error} */ (e).message) || e).split('\n')[0];

function load() {
  const name = platformName();
  const chosen = process.env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (chosen) {
    try {
      return require(path.resolve(chosen));
    } catch (e) {
      const error = new Error(`synchronik: the engine named by NAPI_RS_NATIVE_LIBRARY_PATH (${chosen}) could not be loaded: ${reason(e)}. Unset the variable to load the installed engine.`);
      Object.assign(error, { code: 'ERR_NATIVE_ADDON', platform: name });
      throw error;
    }
  }
  const pkg = `synchronik-${name}`;
  const local = path.join(__dirname, `synchronik.${name}.node`);
  const tried = [];
  try {
    const binding = require(pkg);
    const version = require(`${pkg}/package.json`).version;
    const wanted = require('../package.json').version;
    if (version !== wanted) throw new Error(`it is version ${version}, this synchronik is ${wanted}`);
    return binding;
  } catch (e) {
    tried.push(`the package ${pkg}: ${reason(e)}`);
  }
  if (existsSync(local)) {
    try {
      return require(local);
    } catch (e) {
      tried.push(`the build from source ${local}: ${reason(e)}`);
    }
  } else {
    tried.push(`a build from source: ${local} does not exist`);
  }
  const todo = PUBLISHED.includes(name)
    ? `Install synchronik again with optional dependencies (not --omit=optional or --no-optional) so that npm adds ${pkg}, or build from source in a clone of the repository (Rust and cargo needed: npm install).`
    : `No package is published for this platform: build from source in a clone of the repository (Rust and cargo needed: npm install), or use one of ${PUBLISHED.join(', ')}.`;
  const error = new Error(`synchronik: the engine for ${name} (${process.platform} ${process.arch}) could not be loaded. Tried ${tried.join('; ')}. ${todo}`);
  Object.assign(error, { code: 'ERR_NATIVE_ADDON', platform: name });
  throw error;
}

module.exports = load();
