// --bwlimit's parts that need no network: the rate and schedule grammar (rclone's), the slot in force at a
// given local time, and the budget arithmetic on a fake clock.
import { describe, expect, it } from 'vitest';
import { bandwidthLimiter, parseBwlimit, parseRate, rateAt } from '../../src/worker/bandwidth.js';
import { validateConfig, ConfigError } from '../../src/common/config/validate.js';

const MiB = 1024 ** 2;
const at = (h: number, m: number): Date => new Date(2026, 10, 30, h, m);

describe('bwlimit grammar', () => {
  it('reads rates as rclone does: suffixes in binary units, a bare number in KiB, off', () => {
    expect(parseRate('50M')).toBe(50 * MiB);
    expect(parseRate('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseRate('512k')).toBe(512 * 1024);
    expect(parseRate('800')).toBe(800 * 1024);
    expect(parseRate('100B')).toBe(100);
    expect(parseRate('off')).toBeNull();
    for (const bad of ['', 'fast', '-5M', '0', '5X']) expect(() => parseRate(bad), bad).toThrow(/expected a rate/);
  });

  it('reads a daily schedule and picks the slot in force, wrapping past midnight', () => {
    const slots = parseBwlimit('18:00,off 08:00,50M 12:30,10M');
    expect(slots.map((s) => s.fromMinute)).toEqual([480, 750, 1080]);
    expect(rateAt(slots, at(7, 59))).toBeNull(); // yesterday's 18:00 slot still holds
    expect(rateAt(slots, at(8, 0))).toBe(50 * MiB);
    expect(rateAt(slots, at(12, 29))).toBe(50 * MiB);
    expect(rateAt(slots, at(12, 30))).toBe(10 * MiB);
    expect(rateAt(slots, at(23, 59))).toBeNull();
    expect(() => parseBwlimit('25:00,1M')).toThrow(/HH:MM,RATE/);
    expect(() => parseBwlimit('08:00,1M 9am,2M')).toThrow(/9am/);
  });

  it('config bwlimit is validated with the field named', () => {
    expect(validateConfig({ mysql_table: 't', bwlimit: '08:00,50M 18:00,off' }, 'test').bwlimit).toBe('08:00,50M 18:00,off');
    expect(() => validateConfig({ mysql_table: 't', bwlimit: 'lots' }, 'test')).toThrow(ConfigError);
    expect(() => validateConfig({ mysql_table: 't', bwlimit: 'lots' }, 'test')).toThrow(/bwlimit/);
  });
});

describe('the byte budget', () => {
  it('asks a reader ahead of the rate to wait exactly its lead, banks at most 100 ms of idle budget', () => {
    let now = at(10, 0).getTime();
    const lim = bandwidthLimiter(parseBwlimit('1M'), () => now);
    expect(lim.consume(MiB / 2)).toBeCloseTo(500, 6); // half a second ahead
    now += 500;
    expect(lim.consume(0)).toBe(0);
    now += 10_000; // idle: only 100 ms worth (0.1 MiB) is banked
    expect(lim.consume(MiB / 10)).toBe(0);
    expect(lim.consume(MiB / 10)).toBeCloseTo(100, 6);
  });

  it('an off slot lets everything through and forgets the debt', () => {
    let now = at(17, 59).getTime();
    const lim = bandwidthLimiter(parseBwlimit('08:00,1M 18:00,off'), () => now);
    expect(lim.consume(MiB)).toBeCloseTo(1000, 6);
    now = at(18, 0).getTime();
    expect(lim.consume(100 * MiB)).toBe(0);
  });
});
