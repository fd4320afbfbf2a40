/**
 * Bundles the dashboard page (`dashboard/page/`) with esbuild into `dist/dashboard/public/`,
 * where `dashboard/server.ts` serves it from: uPlot included, nothing loaded from elsewhere at
 * run time. Part of `npm run build`.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const out = root('dist/dashboard/public');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [root('dashboard/page/main.ts')],
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  minify: true,
  legalComments: 'eof',
  outdir: out,
  logLevel: 'warning',
});
copyFileSync(root('dashboard/page/index.html'), `${out}/index.html`);
process.stderr.write(`bundled the dashboard page into ${out}\n`);
