'use strict';
// Independent OTLP decoding: the generated protobufjs code shipped by
// @opentelemetry/otlp-transformer@0.214.0 (generated from opentelemetry-proto v1.7.0).

const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');

const proto = root.opentelemetry.proto;

const REQUEST_TYPES = {
  traces: proto.collector.trace.v1.ExportTraceServiceRequest,
  logs: proto.collector.logs.v1.ExportLogsServiceRequest,
  metrics: proto.collector.metrics.v1.ExportMetricsServiceRequest,
};

const SpanKind = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };
const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 };
const AggregationTemporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 };

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** Replaces byte-valued trace/span ids by lowercase hex strings, in place, recursively. */
function hexIds(v) {
  if (Array.isArray(v)) {
    v.forEach(hexIds);
  } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Uint8Array)) {
    for (const [k, x] of Object.entries(v)) {
      if (ID_KEYS.has(k) && x instanceof Uint8Array) {
        v[k] = Buffer.from(x).toString('hex');
      } else {
        hexIds(x);
      }
    }
  }
  return v;
}

/** Decodes a protobuf Export*ServiceRequest to a plain object: int64 as strings, ids as hex. */
function decodeProtobuf(signal, buf) {
  const T = REQUEST_TYPES[signal];
  if (!T) throw new Error(`unknown signal ${signal}`);
  const msg = T.decode(buf);
  const obj = T.toObject(msg, { longs: String, enums: Number });
  return hexIds(obj);
}

/** Encodes a plain object (ids as Buffers, as protobufjs expects) to protobuf bytes. */
function encodeProtobuf(signal, obj) {
  const T = REQUEST_TYPES[signal];
  const msg = T.fromObject(obj);
  const err = T.verify(msg);
  if (err) throw new Error(`invalid ${signal} request: ${err}`);
  return Buffer.from(T.encode(msg).finish());
}

/**
 * An AnyValue (protobuf toObject or OTLP/JSON) to a plain JS value with its type kept:
 * intValue → BigInt, doubleValue → number, boolValue → boolean, stringValue → string,
 * arrayValue → array, kvlistValue → plain object, bytesValue → Buffer. An empty AnyValue
 * gives `undefined`.
 */
function anyValue(v) {
  if (v === null || v === undefined) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return BigInt(v.intValue);
  if ('doubleValue' in v) return typeof v.doubleValue === 'string' ? Number(v.doubleValue) : v.doubleValue;
  if ('arrayValue' in v) return ((v.arrayValue && v.arrayValue.values) || []).map(anyValue);
  if ('kvlistValue' in v) return attrs((v.kvlistValue && v.kvlistValue.values) || []);
  if ('bytesValue' in v) {
    return typeof v.bytesValue === 'string' ? Buffer.from(v.bytesValue, 'base64') : Buffer.from(v.bytesValue);
  }
  return undefined;
}

/** A KeyValue list to a plain object key → typed value (see anyValue). */
function attrs(list) {
  const out = {};
  for (const kv of list || []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** Keys that appear more than once in a KeyValue list (should be none). */
function duplicateKeys(list) {
  const seen = new Set();
  const dups = [];
  for (const kv of list || []) {
    if (seen.has(kv.key)) dups.push(kv.key);
    seen.add(kv.key);
  }
  return dups;
}

function scopeOf(s) {
  const sc = (s && s.scope) || {};
  return { name: sc.name || '', version: sc.version || '', attributes: attrs(sc.attributes) };
}

function resourceOf(r) {
  return attrs((r && r.resource && r.resource.attributes) || []);
}

/** Flattens one decoded ExportTraceServiceRequest to [{resource, scope, span}]. */
function flattenSpans(req) {
  const out = [];
  for (const rs of req.resourceSpans || []) {
    const resource = resourceOf(rs);
    for (const ss of rs.scopeSpans || []) {
      const scope = scopeOf(ss);
      for (const s of ss.spans || []) {
        const span = {
          ...s,
          traceId: s.traceId || '',
          spanId: s.spanId || '',
          parentSpanId: s.parentSpanId || '',
          kind: s.kind || 0,
          attributes: attrs(s.attributes),
          attributeList: s.attributes || [],
          droppedAttributesCount: s.droppedAttributesCount || 0,
          status: { code: (s.status && s.status.code) || 0, message: (s.status && s.status.message) || '' },
          events: (s.events || []).map((e) => ({ ...e, attributes: attrs(e.attributes) })),
          links: (s.links || []).map((l) => ({
            ...l, traceId: l.traceId || '', spanId: l.spanId || '', attributes: attrs(l.attributes),
          })),
        };
        out.push({ resource, scope, span });
      }
    }
  }
  return out;
}

/** Flattens one decoded ExportLogsServiceRequest to [{resource, scope, log}]. */
function flattenLogs(req) {
  const out = [];
  for (const rl of req.resourceLogs || []) {
    const resource = resourceOf(rl);
    for (const sl of rl.scopeLogs || []) {
      const scope = scopeOf(sl);
      for (const l of sl.logRecords || []) {
        const log = {
          ...l,
          traceId: l.traceId || '',
          spanId: l.spanId || '',
          severityNumber: l.severityNumber || 0,
          severityText: l.severityText || '',
          body: anyValue(l.body),
          attributes: attrs(l.attributes),
          droppedAttributesCount: l.droppedAttributesCount || 0,
        };
        out.push({ resource, scope, log });
      }
    }
  }
  return out;
}

function normPoint(p) {
  return {
    ...p,
    attributes: attrs(p.attributes),
    attributeList: p.attributes || [],
    exemplars: (p.exemplars || []).map((e) => ({
      ...e,
      traceId: e.traceId || '',
      spanId: e.spanId || '',
      filteredAttributes: attrs(e.filteredAttributes),
    })),
  };
}

/**
 * Flattens one decoded ExportMetricsServiceRequest to
 * [{resource, scope, metric: {name, unit, description}, type, temporality, monotonic, point}].
 */
function flattenMetrics(req) {
  const out = [];
  for (const rm of req.resourceMetrics || []) {
    const resource = resourceOf(rm);
    for (const sm of rm.scopeMetrics || []) {
      const scope = scopeOf(sm);
      for (const m of sm.metrics || []) {
        const metric = { name: m.name || '', unit: m.unit || '', description: m.description || '' };
        let type; let data;
        for (const t of ['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary']) {
          if (m[t]) { type = t; data = m[t]; break; }
        }
        if (!type) {
          out.push({ resource, scope, metric, type: 'none', point: null });
          continue;
        }
        for (const p of data.dataPoints || []) {
          out.push({
            resource,
            scope,
            metric,
            type,
            temporality: data.aggregationTemporality || 0,
            monotonic: !!data.isMonotonic,
            point: normPoint(p),
          });
        }
      }
    }
  }
  return out;
}

/** A number data point's value, whichever of asDouble / asInt it uses. */
function pointValue(p) {
  if (p.asDouble !== undefined && p.asDouble !== null) return Number(p.asDouble);
  if (p.asInt !== undefined && p.asInt !== null) return Number(p.asInt);
  return 0;
}

module.exports = {
  root, proto, REQUEST_TYPES, SpanKind, StatusCode, AggregationTemporality,
  decodeProtobuf, encodeProtobuf, hexIds, anyValue, attrs, duplicateKeys,
  flattenSpans, flattenLogs, flattenMetrics, pointValue,
};
