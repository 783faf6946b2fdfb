// File records in items (a rule's `files:` fields; docs/files.md): telling a list of them from
// any other value, the link that downloads one from the data service (GET /api/files/{sha256},
// with its name), and its size as people read it (pure: no DOM, no I/O).

const SHA = /^[0-9a-f]{64}$/;

/** Whether `value` is a list of file records: objects with a url, and a sha256 or an error. */
export function isFileList(value) {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (v) =>
        v !== null &&
        typeof v === "object" &&
        typeof v.url === "string" &&
        (SHA.test(String(v.sha256 ?? "")) || typeof v.error === "string"),
    )
  );
}

/** The path under api/ that downloads a kept file (null for a refused or failed one). */
export function filePath(record) {
  const sha = String(record?.sha256 ?? "");
  if (!SHA.test(sha)) return null;
  const name = typeof record.name === "string" && record.name ? record.name : "";
  return `/files/${sha}${name ? `?name=${encodeURIComponent(name)}` : ""}`;
}

/** Bytes as B, KB, MB or GB (powers of 1000, one decimal beyond bytes); "" when unknown. */
export function fileSize(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}
