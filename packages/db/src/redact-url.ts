/** The URL without password or query string, safe for logs and `meridian db status`. */
export function redactDbUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}
