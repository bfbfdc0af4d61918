// Rewrites a transaction's placeholder fullUrls (urn:uuid:..., urn:oid:...) into the ids the
// server gave those entries, everywhere in the bundle: Reference.reference, any other string
// element equal to a placeholder (uri, canonical), and links inside narrative XHTML.

export type PlaceholderMap = Map<string, string>;

export function rewritePlaceholders<T>(node: T, map: PlaceholderMap): T {
  if (map.size === 0) return node;
  return rewrite(node, map, '') as T;
}

function rewrite(node: unknown, map: PlaceholderMap, key: string): unknown {
  if (typeof node === 'string') {
    const target = map.get(node);
    if (target) return target;
    if (key === 'div' && node.includes('urn:')) {
      let div = node;
      for (const [placeholder, value] of map) div = div.split(placeholder).join(value);
      return div;
    }
    return node;
  }
  if (Array.isArray(node)) return node.map((item) => rewrite(item, map, key));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewrite(v, map, k)]));
  }
  return node;
}
