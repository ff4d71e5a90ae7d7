/**
 * `npm run dev`: the server restarts on change (node --watch) on port 8081 while Vite serves
 * the app with hot reload on 5173 and proxies /api and /socket.io to it.
 */
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

const root = path.join(import.meta.dirname, '..');
const apiPort = process.env.WATCHFLOOR_DEV_API_PORT ?? '8081';
const children: ChildProcess[] = [
  spawn(process.execPath, ['--watch-path=server', '--watch-path=src/lib/protocol', 'server/index.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PORT: apiPort, HOST: '127.0.0.1' },
  }),
  spawn(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'dev'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, WATCHFLOOR_DEV_API_PORT: apiPort },
  }),
];
const stop = () => {
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const child of children) child.on('exit', (code) => code && code !== 0 && stop());
