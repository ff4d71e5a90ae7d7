import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// In development the app runs on Vite; the API and sockets go to the watching server (scripts/dev.ts).
const apiTarget = `http://127.0.0.1:${process.env.WATCHFLOOR_DEV_API_PORT ?? '8081'}`;

export default defineConfig({
  plugins: [sveltekit()],
  build: {
    // A first visit fetches the app over HTTP/1.1's six connections per host, so every file is a wait:
    // the framework and the console's shared code come as one file each (7 files for the queue, not 31).
    // The wall's d3 and the settings pages' validation stay in chunks of their own.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'framework', test: /node_modules[\\/](svelte|@sveltejs[\\/]kit|clsx|esm-env|socket\.io-client|socket\.io-parser|engine\.io-client|engine\.io-parser|@socket\.io)[\\/]/, priority: 2 },
            { name: 'console', test: /src[\\/]lib[\\/](console|components|state|realtime|domain|api)[\\/]/, priority: 1 },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': apiTarget,
      '/healthz': apiTarget,
      '/readyz': apiTarget,
      '/socket.io': { target: apiTarget, ws: true },
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One file at a time: each starts real servers and databases, and the machine has two cores.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 90_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
