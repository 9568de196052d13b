// The fault table both fixtures share: matching, `after`/`times`, and clearing by bucket (test files run in
// parallel against one fixture, so one file's clean-up must never remove another's rules).
import { describe, expect, it } from 'vitest';
import { FaultTable } from './faults.js';

const req = (bucket: string, key = 'k', op = 'get') => ({ method: 'GET', op, bucket, key });

describe('FaultTable', () => {
  it('applies a rule after `after` matching requests, `times` times, to matching requests only', () => {
    const t = new FaultTable();
    t.add({ match: { bucket: 'a', prefix: 'x/', op: 'get' }, after: 1, times: 2, action: { status: 503 } });
    expect(t.take(req('a', 'x/1'))).toBeUndefined(); // let through by `after`
    expect(t.take(req('b', 'x/1'))).toBeUndefined(); // other bucket
    expect(t.take(req('a', 'y/1'))).toBeUndefined(); // other prefix
    expect(t.take(req('a', 'x/1', 'head'))).toBeUndefined(); // other op
    expect(t.take(req('a', 'x/2'))).toEqual({ status: 503 });
    expect(t.take(req('a', 'x/3'))).toEqual({ status: 503 });
    expect(t.take(req('a', 'x/4'))).toBeUndefined(); // spent
    expect(t.list()[0]).toMatchObject({ hits: 2, remaining: 0 });
  });

  it('clears only the rules scoped to one bucket when asked, everything otherwise', () => {
    const t = new FaultTable();
    t.add([{ match: { bucket: 'a' }, action: { delayMs: 1 } }, { match: { bucket: 'b' }, action: { delayMs: 1 } }, { action: { corrupt: true } }]);
    t.clear('a');
    expect(t.list().map((r) => r.match?.bucket)).toEqual(['b', undefined]);
    t.clear();
    expect(t.list()).toEqual([]);
  });

  it('lists only the rules scoped to one bucket when asked, with their hits', () => {
    const t = new FaultTable();
    t.add([{ match: { bucket: 'a' }, action: { status: 503 } }, { match: { bucket: 'b' }, times: 2, action: { status: 503 } }, { action: { corrupt: true } }]);
    expect(t.take(req('b'))).toEqual({ status: 503 });
    expect(t.list('b')).toMatchObject([{ match: { bucket: 'b' }, hits: 1, remaining: 1 }]);
    expect(t.list('c')).toEqual([]);
    expect(t.list().map((r) => r.match?.bucket)).toEqual(['a', 'b', undefined]);
  });

  it('refuses rules it cannot carry out, naming the problem', () => {
    const t = new FaultTable();
    expect(() => t.add({ action: { explode: true } })).toThrow(/unknown action/);
    expect(() => t.add({ times: -1, action: { status: 500 } })).toThrow(/times must be a whole number/);
  });
});
