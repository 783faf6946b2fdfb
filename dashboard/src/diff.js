// The difference between two versions of an item, field by field (pure: no DOM, no I/O).

/** Fields the store adds to every document; a diff of versions leaves them out. */
export const STORE_FIELDS = new Set([
  "_key",
  "_hash",
  "_first_seen",
  "_updated_at",
  "_url",
  "_rule",
  "_rule_version",
  "_page",
  "_crawled_at",
  "_replaced_at",
  "_id",
]);

/**
 * Changes from `before` to `after`: [{field, kind: "added"|"removed"|"changed", before, after}],
 * sorted by field name; fields whose values are equal (compared as JSON) are left out.
 */
export function diffItems(before, after) {
  const changes = [];
  const fields = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
  for (const field of [...fields].sort()) {
    if (STORE_FIELDS.has(field)) continue;
    const had = before && Object.hasOwn(before, field);
    const has = after && Object.hasOwn(after, field);
    if (had && !has) changes.push({ field, kind: "removed", before: before[field] });
    else if (!had && has) changes.push({ field, kind: "added", after: after[field] });
    else if (stable(before[field]) !== stable(after[field])) {
      changes.push({ field, kind: "changed", before: before[field], after: after[field] });
    }
  }
  return changes;
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function stable(value) {
  return JSON.stringify(value, (key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
