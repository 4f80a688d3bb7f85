/** The part of madge's API test/layout.test.ts uses (madge ships no types). */
declare module 'madge' {
  interface MadgeResult {
    /** Each import circle, as the files in it. */
    circular(): string[][];
  }
  export default function madge(path: string, config?: { fileExtensions?: string[]; tsConfig?: string }): Promise<MadgeResult>;
}
