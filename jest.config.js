'use strict';

/** Jest runs the specs in __test__/ against the package entry, as users import it. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.spec.{js,mjs}'],
  testTimeout: 20000,
};
