#!/usr/bin/env node
// Entry point of the npm package: runs the compiled CLI (npm run build writes dist/).
import '../dist/cli/main.js';
