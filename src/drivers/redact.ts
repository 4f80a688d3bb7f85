/**
 * Connection URLs in messages and logs, with their passwords hidden.
 */

/** Hides the password of a URL: `mysql://root:***@host/db`. */
export function redact(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
