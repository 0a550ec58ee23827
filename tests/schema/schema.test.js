'use strict';
/*
 * schema.test.js - keeps docs/protocol.schema.json and docs/protocol.md honest.
 *
 * 1. The schema compiles under Ajv's strict draft 2020-12 mode.
 * 2. Valid records pass. Each invalid record is a valid base record plus one
 *    mutation, so its failure can only come from that mutation. There is one
 *    group per acceptance-table reason that a schema can express.
 * 3. Every record in a ```jsonl block of protocol.md validates, every
 *    reject-row example in its acceptance table fails, and the ack and stats
 *    replies shown there have the documented keys.
 * 4. The derived-id test vectors in protocol.md are recomputed with node:crypto.
 *    They are parsed out of the markdown, so the doc cannot drift from the rule.
 *
 * Run: npm ci --ignore-scripts && node --test
 */
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const DOCS = path.join(__dirname, '..', '..', 'docs');
const schema = JSON.parse(fs.readFileSync(path.join(DOCS, 'protocol.schema.json'), 'utf8'));
const markdown = fs.readFileSync(path.join(DOCS, 'protocol.md'), 'utf8');

/* Strict mode catches unknown keywords and formats. Two of its checks are off
 * because they reject standard idioms this schema relies on. strictRequired
 * rejects "one of these fields is required" (an anyOf of required lists).
 * strictTypes wants `type` repeated in every if/then/anyOf branch, because it
 * cannot see the type that a $ref'd parent already declares. */
const ajv = new Ajv2020({ strict: true, strictRequired: false, strictTypes: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

/* The closed list of reject reasons (protocol v1). */
const REASONS = [
    'malformed_json', 'too_large', 'missing_field', 'bad_type', 'bad_value',
    'unknown_type', 'unsupported_version', 'bad_utf8',
];
/* Reasons that depend on bytes, not on the parsed JSON value: no schema can see them. */
const NOT_EXPRESSIBLE = new Set(['too_large', 'bad_utf8']);

function explain(record) {
    validate(record);
    return `${JSON.stringify(record)}\n${ajv.errorsText(validate.errors, { separator: '\n' })}`;
}
function assertValid(record) {
    assert.ok(validate(record), `expected valid: ${explain(record)}`);
}
function assertInvalid(record) {
    assert.ok(!validate(record), `expected invalid: ${JSON.stringify(record)}`);
}
/* A copy of base with fields set; a field set to undefined is removed. */
function mutate(base, changes) {
    const out = structuredClone(base);
    for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) {
            delete out[k];
        } else {
            out[k] = v;
        }
    }
    return out;
}

const base = {
    span: { type: 'span', correlation_id: 'order-1', name: 'db.query', start: 1740830400.5, end: 1740830400.75 },
    log: { type: 'log', correlation_id: 'order-1', body: 'hello' },
    metric: { type: 'metric', name: 'jobs.done', kind: 'counter', value: 1 },
    event: { type: 'event', correlation_id: 'order-1', name: 'cache_miss' },
    invocationStart: { type: 'event', correlation_id: 'order-1', name: 'invocation_start', invocation_id: 'inv-1' },
    invocationEnd: { type: 'event', correlation_id: 'order-1', name: 'invocation_end', invocation_id: 'inv-1', status: 'ok' },
    retry: { type: 'event', correlation_id: 'order-1', name: 'retry', attempt: 2 },
    deadLetter: { type: 'event', correlation_id: 'order-1', name: 'dead_letter', queue: 'orders-dlq' },
    flush: { type: 'flush', id: 'f1' },
    stats: { type: 'stats', id: 's1' },
};

describe('valid records pass', () => {
    for (const [name, record] of Object.entries(base)) {
        test(`base ${name}`, () => assertValid(record));
    }
    const valid = {
        'v: 1 explicit': mutate(base.log, { v: 1 }),
        'correlationId alias': mutate(base.log, { correlation_id: undefined, correlationId: 'order-1' }),
        'correlation_id wins: alias ignored when both present': mutate(base.log, { correlationId: 42 }),
        'correlation_id of 256 ASCII bytes': mutate(base.log, { correlation_id: 'x'.repeat(256) }),
        'log alias message': mutate(base.log, { body: undefined, message: 'hi' }),
        /* Lines without a type (docs/protocol.md "Lines without a type"). */
        'Powertools TypeScript log line': {
            level: 'INFO', message: 'hello', timestamp: '2026-12-06T04:01:38.099Z', service: 'orders',
            cold_start: false, function_name: 'fn', function_request_id: 'req-1', sampling_rate: 0,
            correlation_id: 'order-42', xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
            orderId: 7, nested: { a: 1 },
        },
        'Powertools Python log line, keyed by its X-Ray trace id': {
            level: 'WARNING', location: 'handler:12', message: 'slow', timestamp: '2026-12-06 04:01:38,250+0000',
            service: 'py', xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
            exception: 'Traceback ...', exception_name: 'ValueError',
        },
        'Lambda JSON log format line': {
            timestamp: '2026-12-06T04:01:38.300Z', level: 'INFO', message: 'hi', requestId: '79b4f56e',
        },
        'EMF blob (Powertools metrics)': {
            _aws: { Timestamp: 1796529698123, CloudWatchMetrics: [{ Namespace: 'Shop', Dimensions: [['service', 'env']],
                Metrics: [{ Name: 'orders', Unit: 'Count' }, { Name: 'latency', Unit: 'Milliseconds', StorageResolution: 1 }] }] },
            service: 'orders', env: 'prod', orders: 1, latency: [12, 30],
        },
        'log alias msg': mutate(base.log, { body: undefined, msg: 'hi' }),
        'log body as an object': mutate(base.log, { body: { a: [1, 2], b: null } }),
        'severity name any case': mutate(base.log, { severity: 'WaRnInG' }),
        'severity fatal': mutate(base.log, { severity: 'fatal' }),
        'severity number 1': mutate(base.log, { severity: 1 }),
        'severity number 24': mutate(base.log, { severity: 24 }),
        'log span_id': mutate(base.log, { span_id: '5f1c0a2b3c4d5e6f' }),
        'span with duration_ms instead of end': mutate(base.span, { end: undefined, duration_ms: 12.5 }),
        'span with both end and duration_ms': mutate(base.span, { duration_ms: 0 }),
        'span RFC 3339 Z': mutate(base.span, { start: '2025-03-01T12:00:00Z', end: '2025-03-01T12:00:01Z' }),
        'span RFC 3339 offset and nanoseconds': mutate(base.span, {
            start: '2025-03-01T13:00:00.123456789+01:00', end: '2025-03-01t12:00:01.5z',
        }),
        'span all optional fields': mutate(base.span, {
            status: 'error', status_message: 'boom', kind: 'consumer',
            span_id: 'ABCDEF0123456789', parent_span_id: '0000000000000001',
            events: [{ name: 'retrying' }, { name: 'x', ts: 1740830400.6, attributes: { n: 1 } }],
        }),
        'time 0': mutate(base.log, { ts: 0 }),
        'time just below 1e11': mutate(base.log, { ts: 99999999999.9 }),
        'valid traceparent': mutate(base.log, {
            traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        }),
        'valid xray_trace_id': mutate(base.log, {
            xray_trace_id: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
        }),
        'xray_trace_id with Root only': mutate(base.log, { xray_trace_id: 'Root=1-5759e988-bd862e3fe1be46a994272793' }),
        'attributes: scalars, homogeneous arrays, nesting': mutate(base.log, {
            attributes: { s: 'x', i: 3, d: 3.5, b: false, ss: ['a'], ns: [1, 2.5], bs: [true], e: [], http: { route: '/pay', status: 200 } },
        }),
        'metric gauge may be negative': mutate(base.metric, { kind: 'gauge', value: -3 }),
        'metric histogram with unit and correlation': mutate(base.metric, {
            kind: 'histogram', value: 42.5, unit: 'ms', correlation_id: 'order-1',
        }),
        'metric without correlation_id': base.metric,
        'invocation_start with all options': mutate(base.invocationStart, { cold_start: true, trigger: 'pubsub', attempt: 1 }),
        'invocation_end timeout with error': mutate(base.invocationEnd, { status: 'timeout', error: 'deadline' }),
        'cold_start with init_duration_ms': mutate(base.event, { name: 'cold_start', init_duration_ms: 312.4 }),
        'throttle with reason': mutate(base.event, { name: 'throttle', reason: 'concurrency' }),
        'retry with reason': mutate(base.retry, { attempt: 5, reason: 'timeout' }),
        'dead_letter with options': mutate(base.deadLetter, { reason: 'poison', message_id: 'm-1' }),
        'workflow_start': mutate(base.event, { name: 'workflow_start', workflow: 'checkout' }),
        'workflow_end with status': mutate(base.event, { name: 'workflow_end', status: 'error' }),
        'free-form event with any status-like field': mutate(base.event, { status: 'whatever' }),
    };
    for (const [name, record] of Object.entries(valid)) {
        test(name, () => assertValid(record));
    }
});

/* The acceptance table's "accept" rows: the agent keeps these records, so must the schema. */
describe('accepted-with-a-counter rows pass', () => {
    test('unknown fields are accepted', () => {
        assertValid(mutate(base.span, { region: 'eu-west-1', nested: { anything: [null, {}] } }));
        assertValid(mutate(base.flush, { extra: true }));
    });
    test('a control id of 256 characters is valid, one of 257 is not (the agent answers id_too_long)', () => {
        assertValid(mutate(base.flush, { id: 'f'.repeat(256) }));
        assertValid(mutate(base.stats, { id: 's'.repeat(256) }));
        assertInvalid(mutate(base.flush, { id: 'f'.repeat(257) }));
        assertInvalid(mutate(base.stats, { id: 's'.repeat(257) }));
    });
    test('more attributes than the limit (128) are accepted', () => {
        const attributes = {};
        for (let i = 0; i < 200; i++) {
            attributes[`k${i}`] = i;
        }
        assertValid(mutate(base.log, { attributes }));
    });
    test('a string value longer than max_attribute_value_bytes (4 KiB) is accepted', () => {
        assertValid(mutate(base.log, { attributes: { big: 'x'.repeat(5000) } }));
    });
    test('nesting deeper than 8 levels is accepted', () => {
        let deep = { leaf: 1 };
        for (let i = 0; i < 12; i++) {
            deep = { [`l${i}`]: deep };
        }
        assertValid(mutate(base.log, { attributes: deep }));
    });
    /* Deliberate, documented difference: the agent accepts and counts bad_traceparent. */
    test('a malformed traceparent / xray_trace_id fails the schema (stricter than the agent)', () => {
        for (const tp of [
            '00-xyz',
            '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
            'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
            '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
        ]) {
            assertInvalid(mutate(base.log, { traceparent: tp }));
        }
        for (const x of ['1-5759e988-bd862e3fe1be46a994272793', 'Root=1-5759e988;Parent=53995c3f42cd8ad8',
            'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c']) {
            assertInvalid(mutate(base.log, { xray_trace_id: x }));
        }
    });
});

/* [reason, description, base record, changes]: base passes, base+changes must fail. */
const invalid = [
    ['malformed_json', 'top level is an array', null, [1, 2]],
    ['malformed_json', 'top level is a string', null, 'type'],
    ['malformed_json', 'top level is null', null, null],

    ['missing_field', 'no type', base.log, { type: undefined }],
    ['missing_field', 'no type, level without message', base.log, { type: undefined, level: 'INFO' }],
    ['missing_field', 'no type, level and message but nothing to key a workflow by', null,
        { level: 'INFO', message: 'x' }],
    ['missing_field', 'span/log/event without any correlation id', base.log, { correlation_id: undefined }],
    ['missing_field', 'span without correlation id', base.span, { correlation_id: undefined }],
    ['missing_field', 'event without correlation id', base.event, { correlation_id: undefined }],
    ['missing_field', 'span without name', base.span, { name: undefined }],
    ['missing_field', 'span without start', base.span, { start: undefined }],
    ['missing_field', 'span without end and duration_ms', base.span, { end: undefined }],
    ['missing_field', 'span event without name', base.span, { events: [{ ts: 1 }] }],
    ['missing_field', 'log without body/message/msg', base.log, { body: undefined }],
    ['missing_field', 'metric without name', base.metric, { name: undefined }],
    ['missing_field', 'metric without kind', base.metric, { kind: undefined }],
    ['missing_field', 'metric without value', base.metric, { value: undefined }],
    ['missing_field', 'event without name', base.event, { name: undefined }],
    ['missing_field', 'invocation_start without invocation_id', base.invocationStart, { invocation_id: undefined }],
    ['missing_field', 'invocation_end without invocation_id', base.invocationEnd, { invocation_id: undefined }],
    ['missing_field', 'invocation_end without status', base.invocationEnd, { status: undefined }],
    ['missing_field', 'retry without attempt', base.retry, { attempt: undefined }],
    ['missing_field', 'dead_letter without queue', base.deadLetter, { queue: undefined }],
    ['missing_field', 'flush without id', base.flush, { id: undefined }],
    ['missing_field', 'stats without id', base.stats, { id: undefined }],

    ['bad_type', 'type is a number', base.log, { type: 5 }],
    ['bad_type', 'correlation_id is a number', base.log, { correlation_id: 7731 }],
    ['bad_type', 'correlationId alias is a number', base.log, { correlation_id: undefined, correlationId: 7731 }],
    ['bad_type', 'function is a number', base.log, { function: 7 }],
    ['bad_type', 'invocation_id is a number', base.log, { invocation_id: 1 }],
    ['bad_type', 'workflow is an object', base.log, { workflow: {} }],
    ['bad_type', 'ts is a bool', base.log, { ts: true }],
    ['bad_type', 'attributes is an array', base.log, { attributes: ['a'] }],
    ['bad_type', 'attribute value null', base.log, { attributes: { a: null } }],
    ['bad_type', 'attribute value mixed array', base.log, { attributes: { a: [1, 'x'] } }],
    ['bad_type', 'attribute value array of objects', base.log, { attributes: { a: [{}] } }],
    ['bad_type', 'span name is a number', base.span, { name: 1 }],
    ['bad_type', 'span events is an object', base.span, { events: {} }],
    ['bad_type', 'duration_ms is a string', base.span, { end: undefined, duration_ms: '12' }],
    ['bad_type', 'severity is a bool', base.log, { severity: true }],
    ['bad_type', 'metric value is a string', base.metric, { value: '1' }],
    ['bad_type', 'cold_start is a string', base.invocationStart, { cold_start: 'yes' }],
    ['bad_type', 'attempt is a string', base.retry, { attempt: '2' }],
    ['bad_type', 'dead_letter queue is a number', base.deadLetter, { queue: 7 }],
    ['bad_type', 'flush id is a number', base.flush, { id: 1 }],

    ['bad_value', 'empty correlation_id', base.log, { correlation_id: '' }],
    ['bad_value', 'correlation_id over 256 characters', base.log, { correlation_id: 'x'.repeat(257) }],
    ['bad_value', 'time in milliseconds', base.log, { ts: 1740830400000 }],
    ['bad_value', 'time exactly 1e11', base.log, { ts: 1e11 }],
    ['bad_value', 'negative time', base.log, { ts: -1 }],
    ['bad_value', 'RFC 3339 without time zone', base.log, { ts: '2025-03-01T12:00:00' }],
    ['bad_value', 'RFC 3339 with a space separator', base.log, { ts: '2025-03-01 12:00:00Z' }],
    ['bad_value', 'RFC 3339 with 10 fraction digits', base.log, { ts: '2025-03-01T12:00:00.1234567891Z' }],
    ['bad_value', 'impossible date', base.log, { ts: '2025-02-30T12:00:00Z' }],
    ['bad_value', 'offset without colon', base.log, { ts: '2025-03-01T12:00:00+0100' }],
    ['bad_value', 'not a time at all', base.log, { ts: 'yesterday' }],
    ['bad_value', 'span_id too short', base.span, { span_id: 'abc' }],
    ['bad_value', 'span_id not hex', base.span, { span_id: 'zzzzzzzzzzzzzzzz' }],
    ['bad_value', 'span_id all zero', base.span, { span_id: '0000000000000000' }],
    ['bad_value', 'parent_span_id 32 digits', base.span, { parent_span_id: '4bf92f3577b34da6a3ce929d0e0e4736' }],
    ['bad_value', 'log span_id malformed', base.log, { span_id: 'xyz' }],
    ['bad_value', 'negative duration_ms', base.span, { end: undefined, duration_ms: -1 }],
    ['bad_value', 'span status not in enum', base.span, { status: 'OK' }],
    ['bad_value', 'span kind not in enum', base.span, { kind: 'rpc' }],
    ['bad_value', 'span event time in milliseconds', base.span, { events: [{ name: 'e', ts: 1740830400000 }] }],
    ['bad_value', 'severity name unknown', base.log, { severity: 'loud' }],
    ['bad_value', 'severity 0', base.log, { severity: 0 }],
    ['bad_value', 'severity 25', base.log, { severity: 25 }],
    ['bad_value', 'severity with fraction', base.log, { severity: 9.5 }],
    ['bad_value', 'metric kind not in enum', base.metric, { kind: 'summary' }],
    ['bad_value', 'negative counter increment', base.metric, { value: -1 }],
    ['bad_value', 'trigger not in enum', base.invocationStart, { trigger: 'cron' }],
    ['bad_value', 'invocation_start attempt 0', base.invocationStart, { attempt: 0 }],
    ['bad_value', 'invocation_end status not in enum', base.invocationEnd, { status: 'failed' }],
    ['bad_value', 'retry attempt 1', base.retry, { attempt: 1 }],
    ['bad_value', 'retry attempt with fraction', base.retry, { attempt: 2.5 }],
    ['bad_value', 'negative init_duration_ms', base.event, { name: 'cold_start', init_duration_ms: -5 }],
    ['bad_value', 'workflow_end status timeout', base.event, { name: 'workflow_end', status: 'timeout' }],

    ['unknown_type', 'type trace', base.log, { type: 'trace' }],
    ['unknown_type', 'type is case-sensitive', base.log, { type: 'Log' }],
    ['unknown_type', 'type ack (a reply, not a record)', base.flush, { type: 'ack' }],

    ['unsupported_version', 'v 2', base.log, { v: 2 }],
    ['unsupported_version', 'v 0', base.flush, { v: 0 }],
    ['unsupported_version', 'v 1.5', base.metric, { v: 1.5 }],
];

describe('invalid records fail', () => {
    test('every reason a schema can express has cases', () => {
        const covered = new Set(invalid.map(([reason]) => reason));
        for (const reason of REASONS.filter((r) => !NOT_EXPRESSIBLE.has(r))) {
            assert.ok(covered.has(reason), `no invalid case for ${reason}`);
        }
    });
    for (const [reason, description, baseRecord, changes] of invalid) {
        test(`${reason}: ${description}`, () => {
            if (baseRecord === null) {
                assertInvalid(changes);
                return;
            }
            assertValid(baseRecord);
            assertInvalid(mutate(baseRecord, changes));
        });
    }
});

/* ---- protocol.md ---------------------------------------------------------- */

function fencedBlocks(lang) {
    const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm');
    return [...markdown.matchAll(re)].map((m) => m[1]);
}

/* The rows of the first markdown table whose header row starts with `header`. */
function tableRows(header) {
    const lines = markdown.split('\n');
    const at = lines.findIndex((l) => l.startsWith(header));
    assert.ok(at >= 0, `protocol.md has no table starting with ${header}`);
    const rows = [];
    for (let i = at + 2; i < lines.length && lines[i].startsWith('|'); i++) {
        rows.push(lines[i].slice(1, -1).split('|').map((c) => c.trim()));
    }
    return rows;
}

/* The contents of the `inline code` spans of a table cell. */
function codeSpans(cell) {
    return [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
}

describe('protocol.md', () => {
    const lines = fencedBlocks('jsonl').flatMap((b) => b.split('\n')).filter((l) => l.trim() !== '');
    const records = lines.map((l) => JSON.parse(l));

    test('has jsonl examples', () => {
        assert.ok(records.filter((r) => 'type' in r).length >= 20);
    });

    test('every record in a jsonl block is valid', () => {
        for (const r of records.filter((x) => 'type' in x)) {
            assertValid(r);
        }
    });

    test('the acceptance table lists exactly the closed reason list', () => {
        const rows = tableRows('| case | outcome | example |');
        const reasons = rows.flatMap(([, outcome]) => {
            const m = /^reject: `([a-z0-9_]+)`$/.exec(outcome);
            return m ? [m[1]] : [];
        });
        assert.deepEqual(reasons, REASONS);
    });

    test('every example of a reject row is invalid', () => {
        for (const [, outcome, example] of tableRows('| case | outcome | example |')) {
            const m = /^reject: `([a-z0-9_]+)`$/.exec(outcome);
            if (!m || NOT_EXPRESSIBLE.has(m[1])) {
                continue;
            }
            const spans = codeSpans(example).filter((s) => /^[[{]/.test(s));
            assert.ok(spans.length > 0, `no example for ${m[1]}`);
            for (const text of spans) {
                let value;
                try {
                    value = JSON.parse(text);
                } catch {
                    assert.equal(m[1], 'malformed_json', `example for ${m[1]} is not JSON: ${text}`);
                    continue;
                }
                assertInvalid(value);
            }
        }
    });

    test('ack replies have the documented keys', () => {
        const acks = records.filter((r) => 'ack' in r && !('error' in r));
        assert.ok(acks.length >= 1);
        for (const a of acks) {
            assert.deepEqual(Object.keys(a), ['ack', 'accepted', 'rejected', 'first_error']);
            assert.ok(a.first_error === null || REASONS.includes(a.first_error));
        }
    });

    test('error replies are documented with their keys and reason', () => {
        const errors = records.filter((r) => 'error' in r && ('ack' in r || 'stats' in r));
        assert.deepEqual(errors, [{ ack: null, error: 'id_too_long' }, { stats: null, error: 'id_too_long' }]);
    });

    test('the stats reply has the documented keys', () => {
        const replies = records.filter((r) => 'stats' in r && !('error' in r));
        assert.equal(replies.length, 1);
        const s = replies[0];
        assert.deepEqual(Object.keys(s), ['stats', 'version', 'uptime_s', 'records', 'rejected', 'accepted_with',
            'connections', 'workflows', 'export', 'dropped', 'memory', 'journal', 'alerts', 'inputs', 'statsd',
            'otlp_receiver', 'lambda', 'listeners']);
        assert.deepEqual(Object.keys(s.inputs),
            ['dgram_received', 'dgram_dropped', 'dgram_kernel_dropped', 'dgram_truncated', 'peer_not_allowed']);
        assert.deepEqual(Object.keys(s.statsd),
            ['metrics', 'events', 'service_checks', 'bad_line', 'unknown_type', 'bad_value', 'bad_utf8',
                'tags_dropped', 'series_limit', 'set_members_capped']);
        assert.deepEqual(Object.keys(s.records), ['accepted', 'rejected']);
        assert.deepEqual(Object.keys(s.rejected), [...REASONS, 'incomplete']);
        assert.deepEqual(Object.keys(s.accepted_with),
            ['bad_traceparent', 'attributes_dropped', 'trace_conflict', 'late_record', 'metric_scope_limit']);
        assert.deepEqual(Object.keys(s.connections), ['accepted', 'open', 'closed_idle', 'refused_limit', 'input_pauses']);
        assert.deepEqual(Object.keys(s.workflows), ['opened', 'open', 'closed', 'evicted']);
        assert.deepEqual(Object.keys(s.export),
            ['spans', 'logs', 'metric_points', 'requests_ok', 'requests_failed', 'retries', 'splits', 'delivered',
                'requests_timed_out', 'retry_after_capped']);
        assert.deepEqual(Object.keys(s.dropped),
            ['queue_full', 'non_retryable', 'retries_exhausted', 'shutdown_deadline', 'partial_success',
                'memory_limit', 'metric_series_limit', 'journal_full', 'journal_corrupt', 'lambda_logs_dropped']);
        assert.deepEqual(Object.keys(s.lambda),
            ['telemetry_batches', 'telemetry_events', 'unknown_events', 'invokes', 'flushes_over_budget',
                'logs_unattributed', 'requests_evicted']);
        assert.deepEqual(Object.keys(s.journal),
            ['journaled', 'replayed', 'bytes', 'max_bytes', 'segments', 'torn_tails', 'segments_set_aside']);
        assert.deepEqual(Object.keys(s.alerts),
            ['firing', 'fired', 'resolved', 'series', 'series_evicted', 'notifications_sent',
                'notification_retries', 'dropped_queue_full', 'dropped_rejected',
                'dropped_retries_exhausted', 'dropped_shutdown', 'retry_after_capped']);
        assert.deepEqual(Object.keys(s.otlp_receiver),
            ['requests_ok', 'spans', 'log_records', 'data_points', 'items_rejected', 'joined', 'followed',
                'traces_forgotten', 'rejected_undecodable', 'rejected_content_type', 'rejected_content_encoding',
                'rejected_bad_gzip', 'rejected_decompressed_too_large', 'rejected_paused',
                'rejected_body_too_large', 'rejected_malformed', 'rejected_header_timeout',
                'rejected_idle_timeout', 'rejected_not_found', 'rejected_method', 'rejected_connections',
                'connections_accepted', 'connections_open']);
        assert.equal(typeof s.listeners, 'object');
        const sum = Object.values(s.rejected).reduce((a, b) => a + b, 0);
        assert.equal(s.records.rejected, sum, 'records.rejected is the sum of rejected.<reason>');
    });
});

/* ---- derived ids ---------------------------------------------------------- */

/* First n bytes of SHA-256(prefix + "\0" + parts joined by "\0"); all zero -> last byte 1. */
function derive(kind, n, ...parts) {
    const h = crypto.createHash('sha256');
    h.update(`spindle/v1/${kind}\0`, 'utf8');
    h.update(parts.join('\0'), 'utf8');
    const id = h.digest().subarray(0, n);
    if (id.every((b) => b === 0)) {
        id[n - 1] = 1;
    }
    return id.toString('hex');
}

describe('derived-id test vectors in protocol.md', () => {
    const header = '| correlation_id | correlation_id bytes | invocation_id | trace id | workflow span id | invocation span id |';
    const rows = tableRows(header).map((cells) => cells.map((c) => c.replace(/^`(.*)`$/, '$1')));

    test('there are at least three vectors, one with an invocation and one non-ASCII', () => {
        assert.ok(rows.length >= 3);
        assert.ok(rows.some((r) => r[2] !== ''));
        assert.ok(rows.some((r) => /[^\x00-\x7f]/.test(r[0])));
    });

    for (const [cid, cidHex, inv, traceId, workflowId, invocationId] of rows) {
        test(`correlation_id ${JSON.stringify(cid)}${inv ? ` invocation_id ${JSON.stringify(inv)}` : ''}`, () => {
            assert.equal(Buffer.from(cid, 'utf8').toString('hex'), cidHex, 'UTF-8 bytes column');
            assert.match(traceId, /^[0-9a-f]{32}$/);
            assert.match(workflowId, /^[0-9a-f]{16}$/);
            assert.equal(derive('trace', 16, cid), traceId, 'trace id');
            assert.equal(derive('workflow', 8, cid), workflowId, 'workflow span id');
            if (inv === '') {
                assert.equal(invocationId, '', 'an invocation span id needs an invocation_id');
            } else {
                assert.match(invocationId, /^[0-9a-f]{16}$/);
                assert.equal(derive('invocation', 8, cid, inv), invocationId, 'invocation span id');
            }
        });
    }
});
