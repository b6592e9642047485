#!/usr/bin/env node
// Entry point of the `segmenta` command: the compiled CLI lives in dist/ (built by `npm ci` via `prepare`).
import('../dist/cli/main.js').then(
  async (cli) => {
    process.exitCode = await cli.main(process.argv);
  },
  (err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
      console.error('segmenta: the build is missing (dist/). Run `npm ci` or `npm run build` in the project folder.');
      process.exit(70);
    }
    throw err;
  },
);
