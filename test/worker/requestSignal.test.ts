// requestSignal: the view of a copy's AbortSignal that every copy-path request gives undici. Over real
// connections to a local server: an abort cuts a request that waits for its headers and a body that
// stalls, a request that finished leaves nothing listening, and an aborted signal refuses new requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { requestSignal } from '../../src/worker/copy/http.js';

describe('requestSignal', () => {
  let server: Server;
  let origin: string;
  const held: ServerResponse[] = [];
  const agent = new Agent({ connections: 8 });

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return void held.push(res); // never answers
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('x'.repeat(10)); // and never the other 90
        return void held.push(res);
      }
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const r of held) r.destroy();
    await agent.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('aborts a request still waiting for its headers, with the signal reason', async () => {
    const ac = new AbortController();
    const p = agent.request({ origin, path: '/hang', method: 'GET', signal: requestSignal(ac.signal) });
    setTimeout(() => ac.abort(new Error('hard stop')), 50);
    await expect(p).rejects.toThrow('hard stop');
  });

  it('aborts a response body that stalls', async () => {
    const ac = new AbortController();
    const res = await agent.request({ origin, path: '/stall', method: 'GET', signal: requestSignal(ac.signal) });
    expect(res.statusCode).toBe(200);
    setTimeout(() => ac.abort(new Error('hard stop')), 50);
    await expect(res.body.text()).rejects.toThrow('hard stop');
  });

  it('one view per signal; a finished request leaves no listener behind; an aborted signal refuses a new request', async () => {
    const ac = new AbortController();
    const view = requestSignal(ac.signal);
    expect(requestSignal(ac.signal)).toBe(view);
    const listening: Array<() => void> = [];
    let added = 0;
    // The view as undici sees it, counting the listeners it holds.
    const spy = {
      get aborted() {
        return view.aborted;
      },
      get reason() {
        return view.reason;
      },
      on: (_e: 'abort', l: () => void) => (added++, listening.push(l), view.on('abort', l)),
      once: (_e: 'abort', l: () => void) => (added++, listening.push(l), view.once('abort', l)),
      removeListener: (_e: 'abort', l: () => void) => (listening.splice(listening.indexOf(l), 1), view.removeListener('abort', l)),
    };
    for (let i = 0; i < 3; i++) {
      const res = await agent.request({ origin, path: '/ok', method: 'GET', signal: spy as never });
      expect(await res.body.text()).toBe('ok');
    }
    await new Promise((resolve) => setImmediate(resolve)); // the body's 'close' removes the listener
    expect(added).toBe(3);
    expect(listening).toEqual([]);
    ac.abort(new Error('stopped'));
    await expect(agent.request({ origin, path: '/ok', method: 'GET', signal: requestSignal(ac.signal) })).rejects.toThrow('stopped');
  });

  it('on abort, calls each listener still held once, none that left, in any order of leaving', () => {
    const ac = new AbortController();
    const view = requestSignal(ac.signal);
    const calls: string[] = [];
    const ls = ['a', 'b', 'c', 'd'].map((n) => () => void calls.push(n));
    for (const l of ls) view.once('abort', l);
    view.removeListener('abort', ls[1]); // from the middle
    view.removeListener('abort', ls[3]); // the last
    view.removeListener('abort', ls[1]); // not held: nothing happens
    ac.abort(new Error('stop'));
    expect(calls.sort()).toEqual(['a', 'c']);
    ac.signal.dispatchEvent(new Event('abort')); // 'abort' fires once; a second event calls nobody
    expect(calls.length).toBe(2);
  });
});
