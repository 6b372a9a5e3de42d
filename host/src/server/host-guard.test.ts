import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedHostSet, isAllowedHost, isLoopbackAddress } from './host-guard.js';

const none = allowedHostSet();
const port = fc.integer({ min: 0, max: 65535 });
const withPort = (name: fc.Arbitrary<string>) => fc.tuple(name, fc.option(port, { nil: undefined })).map(([n, p]) => (p === undefined ? n : `${n}:${p}`));
const octet = fc.integer({ min: 0, max: 255 });
const loopbackV4 = fc.tuple(octet, octet, octet).map(([a, b, c]) => `127.${a}.${b}.${c}`);
const loopbackName = fc.oneof(fc.constantFrom('localhost', 'LocalHost', '[::1]', '127.0.0.1'), loopbackV4);
/** Names that start or end like a loopback name but are someone else's (DNS rebinding). */
const hostile = fc.oneof(
  fc.tuple(loopbackName, fc.domain()).map(([l, d]) => `${l}.${d}`),
  fc.tuple(fc.domain(), loopbackName).map(([d, l]) => `${d}.${l}`),
  fc.tuple(fc.constantFrom('127', '127.0', '127.0.0'), fc.domain()).map(([l, d]) => `${l}.${d}`),
  fc.domain(),
  fc.constantFrom('127.attacker.example', 'localhost.evil', '127.0.0.1.nip.io', '[::1].x', '::1', '127.0.0.256', '127.1', '[::2]', ''),
);

describe('isAllowedHost (DNS-rebinding guard)', () => {
  it('accepts exact loopback names and 127.x.y.z addresses, with or without a port', () => {
    fc.assert(fc.property(withPort(loopbackName), (h) => isAllowedHost(h, none)));
  });

  it('refuses every name that merely starts or ends like loopback, with or without a port', () => {
    fc.assert(fc.property(withPort(hostile), (h) => !isAllowedHost(h, none)), { numRuns: 500 });
  });

  it('accepts configured names exactly (any case, any port) and nothing built on them', () => {
    const allowed = allowedHostSet(['Sorter.Lab']);
    expect(isAllowedHost('sorter.lab', allowed)).toBe(true);
    expect(isAllowedHost('SORTER.LAB:8080', allowed)).toBe(true);
    for (const h of ['sorter.lab.evil', 'x.sorter.lab', 'sorter.la', 'sorter.lab:99999', 'sorter.lab:', undefined]) {
      expect(isAllowedHost(h, allowed), String(h)).toBe(false);
    }
  });

  it('knows loopback bind addresses exactly', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', 'localhost', '::1', '[::1]']) expect(isLoopbackAddress(h), h).toBe(true);
    for (const h of ['0.0.0.0', '127.attacker.example', '10.0.0.1', '::']) expect(isLoopbackAddress(h), h).toBe(false);
  });
});
