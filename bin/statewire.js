#!/usr/bin/env node
'use strict';
const { main } = require('../dist/src/cli.js');

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error) => {
    process.stderr.write(`statewire: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
