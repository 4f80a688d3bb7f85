/**
 * OpenTelemetry tracing as an app gets it: the app registers the SDK (application/tracing.ts,
 * imported by its events.ts and its dispatching script), dispatches a chain of three jobs whose
 * second fails once, and `rakit job:runall` works it in its worker processes. Every span, from
 * the SDK's in-memory exporter of each process, is checked one by one: the dispatch a child of
 * the app's request, each attempt a child of its dispatch (both attempts of the retried job),
 * each next link dispatched inside the attempt before it; and the worker's log lines carry the
 * trace and span ids. A batch's jobs and callback are children of its dispatch. The OTLP sample of docs/operating-in-production.md then sends its spans
 * to a small OTLP/HTTP receiver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, logLines, makeApp, type TestApp } from '../helpers/app.ts';

const STEP = `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';

export default class Step extends Jobable<{ label: string; failFirst?: boolean }> {
  static tries = 2;
  static backoff = 0;
  async run() {
    appendFileSync('storage/ran.log', \`\${this.get('label')} \${this.attempt}\\n\`);
    if (this.get('failFirst') && this.attempt === 1) throw new Error('the first attempt fails');
  }
}
`;

const IN_MEMORY = `import { writeFileSync } from 'node:fs';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const exporter = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
process.on('exit', () => {
  const spans = exporter.getFinishedSpans().map((s) => ({
    name: s.name, kind: s.kind, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId,
    parent: s.parentSpanContext?.spanId ?? null, attributes: s.attributes, status: s.status.code,
  }));
  writeFileSync(\`storage/spans-\${process.pid}.json\`, JSON.stringify(spans));
});
`;

const DISPATCH = `import './application/tracing.ts';
import { trace } from '@opentelemetry/api';
import { Job } from 'rakit';
import Step from './application/jobs/Step.ts';

await trace.getTracer('app').startActiveSpan('request', async (span) => {
  const chain = await Job.chain([new Step({ label: 'a' }), new Step({ label: 'b', failFirst: true }), new Step({ label: 'c' })]).dispatch();
  console.log(JSON.stringify({ ids: chain.jobs.map((job) => job.id), traceId: span.spanContext().traceId, spanId: span.spanContext().spanId }));
  span.end();
});
`;

interface SpanRow {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parent: string | null;
  attributes: Record<string, unknown>;
  status: number;
}

const PRODUCER = 3;
const CONSUMER = 4;
const ERROR = 2;

/** An app whose node_modules has the OpenTelemetry packages beside rakit, as an app that installed them. */
function tracedApp(tracingFile: string): TestApp {
  const app = makeApp({ driver: 'file', sleep_ms: 50 });
  symlinkSync(path.join(REPO, 'node_modules', '@opentelemetry'), path.join(app.dir, 'node_modules', '@opentelemetry'), 'dir');
  app.write('application/tracing.ts', tracingFile);
  app.write('application/events.ts', `import './tracing.ts';\n`);
  app.write('application/jobs/Step.ts', STEP);
  return app;
}

const apps: TestApp[] = [];
afterAll(() => {
  for (const app of apps) app.remove();
});

describe('OpenTelemetry tracing', () => {
  it('traces a chain of three, one retried, from the dispatch through every attempt, in the worker processes', async () => {
    const app = tracedApp(IN_MEMORY);
    apps.push(app);
    const dispatched = await app.script('dispatch.ts', DISPATCH);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const { ids, traceId, spanId: request } = JSON.parse(dispatched.stdout.trim().split('\n').pop()!) as { ids: string[]; traceId: string; spanId: string };
    const worked = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(worked.code, worked.stderr).toBe(0);
    expect(app.ranLog()).toEqual(['a 1', 'b 1', 'b 2', 'c 1']);

    const spans: SpanRow[] = readdirSync(path.join(app.dir, 'storage')).filter((f) => f.startsWith('spans-'))
      .flatMap((f) => JSON.parse(readFileSync(path.join(app.dir, 'storage', f), 'utf8')) as SpanRow[]);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    const runs = (id: string) => spans.filter((s) => s.kind === CONSUMER && s.attributes['rakit.job.id'] === id)
      .sort((x, y) => Number(x.attributes['rakit.job.attempt']) - Number(y.attributes['rakit.job.attempt']));
    const only = <T>(list: T[]): T => {
      expect(list).toHaveLength(1);
      return list[0]!;
    };

    // The chain's dispatch, inside the app's request.
    const dispatch = only(spans.filter((s) => s.name === 'dispatch step'));
    expect(dispatch).toMatchObject({ kind: PRODUCER, parent: request });
    expect(dispatch.attributes).toMatchObject({ 'rakit.job.id': ids[0], 'rakit.job.name': 'step', 'rakit.job.queue': 'default', 'messaging.system': 'rakit' });
    // a: one attempt, a child of the dispatch.
    const a = only(runs(ids[0]!));
    expect(a).toMatchObject({ name: 'run step', kind: CONSUMER, parent: dispatch.spanId });
    expect(a.attributes).toMatchObject({ 'rakit.job.attempt': 1, 'rakit.job.outcome': 'done', 'rakit.job.name': 'step', 'rakit.job.queue': 'default' });
    expect(a.attributes['rakit.job.wait_ms']).toBeGreaterThanOrEqual(0);
    // b: dispatched inside a's attempt; both its attempts children of that dispatch, the first failed and retried.
    const handOnB = only(spans.filter((s) => s.name === 'dispatch (chain)' && s.attributes['rakit.job.id'] === ids[1]));
    expect(handOnB).toMatchObject({ kind: PRODUCER, parent: a.spanId });
    const [b1, b2] = runs(ids[1]!);
    expect(runs(ids[1]!)).toHaveLength(2);
    expect(b1).toMatchObject({ parent: handOnB.spanId, status: ERROR });
    expect(b1!.attributes).toMatchObject({ 'rakit.job.attempt': 1, 'rakit.job.outcome': 'retried' });
    expect(b2).toMatchObject({ parent: handOnB.spanId });
    expect(b2!.status).not.toBe(ERROR);
    expect(b2!.attributes).toMatchObject({ 'rakit.job.attempt': 2, 'rakit.job.outcome': 'done' });
    // c: dispatched inside b's second attempt.
    const handOnC = only(spans.filter((s) => s.name === 'dispatch (chain)' && s.attributes['rakit.job.id'] === ids[2]));
    expect(handOnC).toMatchObject({ kind: PRODUCER, parent: b2!.spanId });
    const c = only(runs(ids[2]!));
    expect(c).toMatchObject({ parent: handOnC.spanId });
    expect(c.attributes).toMatchObject({ 'rakit.job.attempt': 1, 'rakit.job.outcome': 'done' });
    expect(spans).toHaveLength(8); // request, dispatch, 4 attempts, 2 hand-ons

    // The worker's lines about each attempt carry its trace and span.
    const lines = logLines(worked.stderr);
    const executed = lines.filter((l) => l.msg.startsWith('Job executed: step'));
    expect(executed.map((l) => [l.id, l.span_id])).toEqual([[ids[0], a.spanId], [ids[1], b2!.spanId], [ids[2], c.spanId]]);
    expect(executed.every((l) => l.trace_id === traceId)).toBe(true);
    expect(only(lines.filter((l) => l.msg.startsWith('Job retry: step')))).toMatchObject({ trace_id: traceId, span_id: b1!.spanId });
  }, 60_000);

  it('makes a batch\'s jobs and its callback children of the batch\'s dispatch', async () => {
    const app = tracedApp(IN_MEMORY);
    apps.push(app);
    const dispatched = await app.script('dispatch.ts', `import './application/tracing.ts';
import { Job } from 'rakit';
import Step from './application/jobs/Step.ts';
const batch = await Job.batch([new Step({ label: 'x' }), new Step({ label: 'y' })]).name('pair').then(new Step({ label: 'then' })).dispatch();
console.log(batch.id);
`);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const worked = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(worked.code, worked.stderr).toBe(0);
    expect(app.ranLog().sort()).toEqual(['then 1', 'x 1', 'y 1']);
    const spans: SpanRow[] = readdirSync(path.join(app.dir, 'storage')).filter((f) => f.startsWith('spans-'))
      .flatMap((f) => JSON.parse(readFileSync(path.join(app.dir, 'storage', f), 'utf8')) as SpanRow[]);
    const dispatch = spans.filter((s) => s.name === 'dispatch batch');
    expect(dispatch).toHaveLength(1);
    expect(dispatch[0]).toMatchObject({ kind: PRODUCER, parent: null });
    expect(dispatch[0]!.attributes).toMatchObject({ 'rakit.batch.id': dispatched.stdout.trim().split('\n').pop(), 'rakit.batch.name': 'pair' });
    const runs = spans.filter((s) => s.kind === CONSUMER);
    expect(runs).toHaveLength(3);
    expect(runs.every((s) => s.parent === dispatch[0]!.spanId && s.traceId === dispatch[0]!.traceId)).toBe(true);
  }, 60_000);

  it('sends the spans to an OTLP collector with the sample of docs/operating-in-production.md', async () => {
    const doc = readFileSync(path.join(REPO, 'docs', 'operating-in-production.md'), 'utf8');
    const sample = /```ts\n(\/\/ application\/tracing\.ts\n[\s\S]*?)```/.exec(doc)?.[1];
    expect(sample, 'the page has a `// application/tracing.ts` sample').toBeTruthy();
    const received: { name: string; kind: number }[] = [];
    const collector: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const sent = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: { name: string; kind: number }[] }[] }[] };
          for (const r of sent.resourceSpans) for (const s of r.scopeSpans) received.push(...s.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const app = tracedApp(sample!);
      apps.push(app);
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}` };
      app.write('dispatch.ts', `import './application/tracing.ts';\nimport Step from './application/jobs/Step.ts';\nawait Step.dispatch({ label: 'x' });\n`);
      const dispatched = await runTsx(app, 'dispatch.ts', env);
      expect(dispatched.code, dispatched.stderr).toBe(0);
      const worked = await app.rakit(['job:runall', '--stop-when-empty'], env);
      expect(worked.code, worked.stderr).toBe(0);
      expect(received.map((s) => s.name).sort()).toEqual(['dispatch step', 'run step']);
    } finally {
      collector.close();
    }
  }, 60_000);
});

/** Runs a TypeScript file of the app with tsx, with more environment. */
async function runTsx(app: TestApp, file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(path.join(REPO, 'node_modules', '.bin', 'tsx'), [file], { cwd: app.dir, env: { ...app.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
