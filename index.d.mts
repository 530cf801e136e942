// Types of the ES module entry (index.mjs): the API of the CommonJS entry,
// its named exports and the module as the default export.
export * from './index.js';
import * as synchronik from './index.js';
export default synchronik;
