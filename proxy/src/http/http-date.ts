/** The `date` header of local replies, formatted once per second. */

let cachedDate = '';
let cachedDateAt = 0;
export function httpDate(): string {
  const now = Date.now();
  if (now - cachedDateAt >= 1000) {
    cachedDate = new Date(now).toUTCString();
    cachedDateAt = now - (now % 1000);
  }
  return cachedDate;
}
