import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // A single-page app: every page without a parameter is built ahead as its own HTML in build/pages (see
    // src/routes/+layout.ts); the Node server answers any other path with the shell, which loads the page's
    // code once it has routed. Pages apart from the files, so no folder of pages stands where a path is asked.
    adapter: adapter({ pages: 'build/pages', assets: 'build', fallback: 'shell.html', strict: true }),
    // Pages at any depth name the app's files from the root (/_app/…), as the shell does.
    paths: { relative: false },
    // Pages with a parameter (an incident, a wall) are not built ahead: the shell serves them.
    prerender: { handleUnseenRoutes: 'ignore' },
    // Inline bootstrapping scripts get hashes, so no 'unsafe-inline' is needed.
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:', 'blob:'],
        'connect-src': ['self', 'ws:', 'wss:'],
        'worker-src': ['self', 'blob:'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
        'frame-ancestors': ['none'],
      },
    },
    serviceWorker: { register: false },
  },
};

export default config;
