/**
 * `npm start`: builds the app when there is no build yet, then runs the server
 * (migrations, first admin, demo estate) on embedded PGlite unless DATABASE_URL is set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.join(import.meta.dirname, '..');
if (!fs.existsSync(path.join(root, 'build', 'pages', 'shell.html'))) {
  console.log('watchfloor: no app build yet, building it (once)…');
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('watchfloor: the app build failed (see above)');
    process.exit(1);
  }
}
const { main } = await import('../server/index.ts');
await main();
