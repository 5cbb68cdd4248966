// A loader the user already has (registered before stepmark/register): it rewrites a
// placeholder in files it loads, as compile-to-JS loaders do.
import { registerHooks } from 'node:module';

registerHooks({
  load(url, context, nextLoad) {
    const result = nextLoad(url, context);
    if (!url.endsWith('/loaded.js') || result.source == null) return result;
    return { ...result, source: String(result.source).replace('__PLACEHOLDER__', "'from the user loader'") };
  },
});
