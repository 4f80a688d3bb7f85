/**
 * OpenTelemetry tracing through the optional peer `@opentelemetry/api`. Nothing is loaded, and a
 * dispatch or an attempt pays one property read, until the app has registered a tracer provider
 * (an OpenTelemetry SDK, started by the app): the API keeps its globals under a registered symbol,
 * so `tracing()` sees a provider without importing anything. The API is then resolved once, from
 * the app's own node_modules (the provider's copy), else from rakit's.
 *
 * Spans: `producing` (kind PRODUCER: a dispatch) hands its context on as a carrier (W3C
 * traceparent, through the API's propagator) that is stored with the job; `consuming` (kind
 * CONSUMER: an attempt) is a child of such a carrier. Log lines carry trace_id and span_id while
 * a span is active (`whenTracing`, logger.ts).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Api from '@opentelemetry/api';

/** A span context handed on: `traceparent` (and `tracestate`) as the propagator wrote them. */
export type TraceCarrier = Record<string, string>;

export type SpanAttributes = Record<string, string | number | boolean>;

/** What a running span lets its code add: attributes, and a failure. */
export interface SpanNotes {
  set(attributes: SpanAttributes): void;
  fail(error: Error | string): void;
}

export interface Tracing {
  /** Runs `fn` in a PRODUCER span; `fn` gets the carrier to store with the job, null when nothing is traced. */
  producing<T>(name: string, attributes: SpanAttributes, fn: (carrier: TraceCarrier | null, span: SpanNotes) => Promise<T>): Promise<T>;
  /** Runs `fn` in a CONSUMER span, a child of `parent` (else of the active context). */
  consuming<T>(name: string, attributes: SpanAttributes, parent: TraceCarrier | null, fn: (span: SpanNotes) => Promise<T>): Promise<T>;
  /** Sends the spans the app's provider still holds (before the process ends), waiting FLUSH_MS at most. */
  flush(): Promise<void>;
  /** The active span's trace_id and span_id, for a log line (a new object: pino merges into it); empty outside a span. */
  logFields(): Record<string, string>;
}

const GLOBAL = Symbol.for('opentelemetry.js.api.1');
/** An unreachable collector does not hold a worker's exit up longer (an exporter retries for 10 s). */
const FLUSH_MS = 3_000;

let root: string | null = null;
let loaded: Tracing | null | undefined;
const waiting: ((tracing: Tracing) => void)[] = [];

/** Where the app is: its node_modules is looked in first for the API. */
export function tracingRoot(dir: string): void {
  root = dir;
}

/** Tracing, once the app has registered a tracer provider; null until then (or when the API cannot be found). */
export function tracing(): Tracing | null {
  if (loaded !== undefined) return loaded;
  if ((globalThis as Record<symbol, { trace?: unknown } | undefined>)[GLOBAL]?.trace === undefined) return null;
  const api = resolveApi();
  loaded = api ? over(api) : null;
  if (loaded) for (const fn of waiting.splice(0)) fn(loaded);
  return loaded;
}

/** Runs `fn` once tracing is on (now, if it is). */
export function whenTracing(fn: (tracing: Tracing) => void): void {
  if (loaded) fn(loaded);
  else waiting.push(fn);
}

function resolveApi(): typeof Api | null {
  const from = [root ? path.join(root, 'package.json') : null, import.meta.url].filter((f): f is string => f !== null);
  for (const file of from) {
    try {
      return createRequire(file)('@opentelemetry/api') as typeof Api;
    } catch {
      // not installed there
    }
  }
  return null;
}

function over(api: typeof Api): Tracing {
  const tracer = api.trace.getTracer('rakit');
  const notes = (span: Api.Span): SpanNotes => ({
    set: (attributes) => span.setAttributes(attributes),
    fail: (error) => {
      if (typeof error !== 'string') span.recordException(error);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: typeof error === 'string' ? error : error.message });
    },
  });
  const run = async <T>(span: Api.Span, ctx: Api.Context, fn: () => Promise<T>): Promise<T> => {
    try {
      return await api.context.with(ctx, fn);
    } catch (error) {
      notes(span).fail(error instanceof Error ? error : String(error));
      throw error;
    } finally {
      span.end();
    }
  };
  return {
    producing(name, attributes, fn) {
      const span = tracer.startSpan(name, { kind: api.SpanKind.PRODUCER, attributes });
      const ctx = api.trace.setSpan(api.context.active(), span);
      let carrier: TraceCarrier | null = null;
      if (span.isRecording() || api.isSpanContextValid(span.spanContext())) {
        const out: TraceCarrier = {};
        api.propagation.inject(ctx, out);
        if (Object.keys(out).length > 0) carrier = out;
      }
      return run(span, ctx, () => fn(carrier, notes(span)));
    },
    consuming(name, attributes, parent, fn) {
      const base = parent ? api.propagation.extract(api.ROOT_CONTEXT, parent) : api.context.active();
      const span = tracer.startSpan(name, { kind: api.SpanKind.CONSUMER, attributes }, base);
      return run(span, api.trace.setSpan(base, span), () => fn(notes(span)));
    },
    async flush() {
      type Flushable = { getDelegate?(): Flushable; forceFlush?(): Promise<void> };
      const provider = api.trace.getTracerProvider() as Flushable;
      const flushed = (provider.getDelegate?.() ?? provider).forceFlush?.();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([flushed, new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_MS)))]).finally(() => clearTimeout(timer));
    },
    logFields(): Record<string, string> {
      const context = api.trace.getActiveSpan()?.spanContext();
      return context && api.isSpanContextValid(context) ? { trace_id: context.traceId, span_id: context.spanId } : {};
    },
  };
}
