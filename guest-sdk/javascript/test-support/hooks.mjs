// Module resolution hooks for unit tests of JavaScript plugins on Node.js.
//
// They resolve the bare specifier `weir-plugin` to the SDK module and the WIT import
// `weir:plugin/log@0.1.0` to log.mjs, a stub that records each call. They also load every
// `.js` file outside `node_modules` as an ES module, because plugin folders usually have no
// package.json with `"type": "module"` and rolldown bundles their files as ES modules too.

const SPECIFIERS = new Map([
  ["weir-plugin", new URL("../weir-plugin.js", import.meta.url).href],
  ["weir:plugin/log@0.1.0", new URL("./log.mjs", import.meta.url).href],
]);

export async function resolve(specifier, context, nextResolve) {
  const url = SPECIFIERS.get(specifier);
  if (url !== undefined) {
    return { url, format: "module", shortCircuit: true };
  }
  if (specifier.startsWith("weir:")) {
    throw new Error(
      `no test stub for the WIT import \`${specifier}\`: test.sh provides only \`weir:plugin/log@0.1.0\``,
    );
  }

  const resolved = await nextResolve(specifier, context);
  const { url: resolvedUrl } = resolved;
  const isPluginFile =
    resolvedUrl.startsWith("file:") && resolvedUrl.endsWith(".js") && !resolvedUrl.includes("/node_modules/");
  if (isPluginFile) {
    return { ...resolved, format: "module" };
  }
  return resolved;
}
