#!/usr/bin/env -S node --initial-old-space-size=256
// Entry point of the npm package: runs the compiled CLI (npm run build writes dist/).
//
// --initial-old-space-size=256 (also in the Dockerfile, `npm start` and bench/fuse-mounts.ts):
// a mount or server moves GiBs through external buffers while its JS heap stays near 30 MB, and
// V8 then keeps the old generation's limit just above the live heap, so request objects that
// outlive two scavenges set off a mark-compact every ~1.5 MB promoted. A cold 1 GiB read through
// the FUSE mount on s3rver, 3 interleaved pairs without / with the flag: 69-99 / 2 mark-compacts
// (--trace-gc), 155-163 / 189-204 MiB/s, mount CPU 6.5-7.3 / 4.0-4.4 s, peak RSS 259-273 / 279-295
// MiB. It must be given at startup: v8.setFlagsFromString at run time did not hold.
import '../dist/cli/main.js';
