// A single-page app behind a sign-in: nothing is rendered on a server or prerendered.
export const ssr = false;
export const prerender = false;
