// The web client's bundle. The core (sotto_web.mjs and .wasm) comes from the browser build
// of lib/client: SOTTO_WEB_CORE names the folder it was built in (scripts/build-web.sh).
// Every script and stylesheet in index.html gets a Subresource Integrity hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const core = process.env.SOTTO_WEB_CORE;
if (!core) throw new Error('SOTTO_WEB_CORE: the folder holding sotto_web.mjs and sotto_web.wasm');

const sha384 = (data: string | Uint8Array) =>
  'sha384-' + createHash('sha384').update(data).digest('base64');

function integrity(): Plugin {
  return {
    name: 'sotto-subresource-integrity',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = bundle['index.html'];
      if (!html || html.type !== 'asset') return;
      html.source = String(html.source).replace(
        /<(script|link)\b([^>]*?)\b(src|href)="\/([^"]+)"([^>]*)>/g,
        (tag, name: string, before: string, attr: string, path: string, after: string) => {
          const file = bundle[path];
          if (!file) return tag;
          const data = file.type === 'chunk' ? file.code : file.source;
          return `<${name}${before}${attr}="/${path}" integrity="${sha384(data)}"${after}>`;
        },
      );
    },
  };
}

export default defineConfig({
  resolve: { alias: { '@core': resolve(core) } },
  server: { fs: { allow: ['.', resolve(core)] } },
  build: {
    target: 'es2022',
    assetsInlineLimit: 0,
    // No source maps, no module preload polyfill: nothing inline, nothing extra to fetch.
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
  // The core fetches its .wasm itself (src/core.ts): it checks it against this hash.
  define: {
    __SOTTO_WASM_INTEGRITY__: JSON.stringify(sha384(readFileSync(resolve(core, 'sotto_web.wasm')))),
  },
  plugins: [integrity()],
});
