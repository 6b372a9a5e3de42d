import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR, zigzagAt } from '../../test/support/alerts.js';
import { decodeConfluent } from '../../host/src/modalities/alerts/avro/confluent.js';
import { schemaFolderRegistry } from '../../host/src/modalities/alerts/decode.js';
import { FEED_CANDID_BASE, ztfAlertFeed } from './alert-feed.js';

describe('ZTF alert feed', () => {
  it('gives each message its own candid and otherwise the real packet without cutouts, decodable by the confluent decoder', { timeout: 120_000 }, () => {
    const schemas = join(ALERTS_DIR, 'ztf-avro-alert', 'schema');
    const feed = ztfAlertFeed(join(ALERTS_DIR, 'ztf-4.02-2023-10'), schemas);
    expect(feed.packets).toBe(561);
    const registry = schemaFolderRegistry({ ztfSchemas: schemas, ztfSchemaId: 402 }, (p) => p, 'test');
    const first = decodeConfluent(feed.message(3), registry, 'feed', 3);
    const again = decodeConfluent(feed.message(3 + feed.packets), registry, 'feed', 3 + feed.packets);
    expect(first.id).toBe(FEED_CANDID_BASE + 3n);
    expect(again.id).toBe(FEED_CANDID_BASE + 3n + BigInt(feed.packets));
    expect(again.objectId).toBe(first.objectId);
    expect((again.value as Record<string, unknown>).cutoutScience).toBeNull();
    // Read independently: after the magic byte and schema id, three strings, then the candid.
    const m = feed.message(12_345);
    let pos = 5;
    for (let s = 0; s < 3; s++) {
      const len = zigzagAt(m, pos);
      pos = len.next + Number(len.value);
    }
    expect(zigzagAt(m, pos).value).toBe(FEED_CANDID_BASE + 12_345n);
  });
});
