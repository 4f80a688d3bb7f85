/**
 * Job names: the kebab-case of a class name (`HTMLToPDF` → `html-to-pdf`), and the nearest
 * known names for "did you mean" hints.
 */
import { distance } from 'fastest-levenshtein';

export function kebabCase(className: string): string {
  return className
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}

/** Up to three known names closest to `name`, nearest first. */
export function nearestNames(name: string, known: Iterable<string>): string[] {
  return [...known]
    .map((candidate) => ({ candidate, d: distance(name, candidate) }))
    .filter(({ candidate, d }) => d <= Math.max(3, Math.floor(candidate.length / 2)))
    .sort((a, b) => a.d - b.d || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map(({ candidate }) => candidate);
}

/** Queue names: a letter or digit, then letters, digits and . _ : - (64 at most); never `.` or `..`. */
export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
