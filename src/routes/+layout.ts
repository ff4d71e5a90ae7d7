// A single-page app behind a sign-in: nothing is rendered on a server. Each page is still built ahead as an
// empty shell of its own, which lists that page's code for the browser to fetch together with the app's:
// a first visit then waits for one round of files, not two (the generic shell learns the page's files only
// once the app has started and routed).
export const ssr = false;
export const prerender = true;
