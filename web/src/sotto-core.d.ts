// The browser build of lib/client (web/core/web_client.cpp), as emscripten emits it; what it
// binds is typed in core.ts.
declare module '@core/sotto_web.mjs' {
  const createSottoCore: (options: {
    locateFile: (name: string) => string;
    instantiateWasm?: unknown;
  }) => Promise<unknown>;
  export default createSottoCore;
}
