/**
 * JSON.parse that refuses a line with a key twice in one object: a JSON parser keeps the last
 * one, so a log line with `pid` twice silently loses the first.
 */
export function parseStrict(text: string): unknown {
  let i = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`${why} at ${i} in ${text.slice(0, 200)}`);
  };
  const ws = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const string = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') {
      if (i >= text.length) fail('unterminated string');
      i += text[i] === '\\' ? 2 : 1;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const key = string();
        if (keys.has(key)) fail(`duplicate key "${key}"`);
        keys.add(key);
        ws();
        if (text[i++] !== ':') fail('expected :');
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i++] === '}') return;
        else fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i++] === ']') return;
        else fail('expected , or ]');
      }
    }
    if (c === '"') return void string();
    while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i++;
  };
  value();
  return JSON.parse(text) as unknown;
}
