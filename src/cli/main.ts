// Entry of the `davfs-bridge` command: the long-running verbs start again with tuned malloc
// settings (malloc-tuning.ts); otherwise the command line (program.ts) runs here, loaded only then.
import { relaunchWithTunedMalloc, runsOnGlibc, wantsTunedMalloc } from './malloc-tuning.js';

if (wantsTunedMalloc(process.argv, process.env, runsOnGlibc)) await relaunchWithTunedMalloc();
else await import('./program.js');
