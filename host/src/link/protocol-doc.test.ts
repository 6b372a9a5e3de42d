import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { protocolExamples } from './examples.js';
import { decodePacket, packetTypeName, packetView, readU32 } from './packet.js';
import { SlipDecoder } from './slip.js';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'serial-protocol.md'), 'utf8');

/** The document's hex blocks by name: ```hex NAME ... ```. */
function docHex(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const m of DOC.matchAll(/```hex (\S+)\n([\s\S]*?)```/g)) out.set(m[1], Uint8Array.from(m[2].trim().split(/\s+/).map((h) => parseInt(h, 16))));
  return out;
}

describe('docs/serial-protocol.md', () => {
  const doc = docHex();

  it('prints one example of each packet type, as the code encodes it', () => {
    const examples = protocolExamples();
    expect([...doc.keys()].sort()).toEqual(examples.map((e) => e.name).sort());
    for (const e of examples) expect(doc.get(e.name), e.name).toEqual(e.bytes);
  });

  it('examples carry the CRC zlib computes over everything before it, and decode to their named type', () => {
    for (const [name, bytes] of doc) {
      if (name.endsWith('-slip')) continue;
      expect(readU32(bytes, bytes.length - 4), name).toBe(zlibCrc32(bytes.subarray(0, bytes.length - 4)));
      const p = decodePacket(bytes, 0, bytes.length, 1024, name, packetView());
      expect(packetTypeName(p.type)).toBe(name);
    }
  });

  it('the SLIP example decodes to the data example', () => {
    const got: Uint8Array[] = [];
    new SlipDecoder(100, (b, n) => got.push(b.slice(0, n))).push(doc.get('data-slip')!);
    expect(got).toEqual([doc.get('data')]);
  });

  it('states the CRC parameters the code uses (check value of "123456789")', () => {
    expect(DOC).toMatch(/polynomial `0x04C11DB7`, init\s+`0xFFFFFFFF`, reflect in: yes, reflect out: yes,\s+xorout `0xFFFFFFFF`; check value[\s\S]{0,60}`0xCBF43926`/);
    expect(zlibCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});
