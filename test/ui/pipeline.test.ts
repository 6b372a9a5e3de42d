/**
 * The page's pipeline choice in the URL fragment (`#latency&p=cells`), against the URL
 * standard's own parser (`URL`, `URLSearchParams`): fragments written are read back, names with
 * reserved characters survive, and the request URLs carry `?pipeline=` only when one is chosen.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fragmentOf, parseFragment, withPipeline } from '../../ui/src/pipeline.js';

const at = (href: string) => new URL(href) as unknown as Location;

describe('pipeline fragment', () => {
  it('reads the view and the pipeline; no p= is the daemon\'s first', () => {
    expect(parseFragment('#latency&p=cells')).toEqual({ view: 'latency', pipeline: 'cells' });
    expect(parseFragment('latency')).toEqual({ view: 'latency', pipeline: null });
    expect(parseFragment('')).toEqual({ view: '', pipeline: null });
    expect(fragmentOf('triggers', null)).toBe('triggers');
  });

  it('reads back every fragment it writes, whatever the name (fast-check)', () => {
    fc.assert(fc.property(fc.constantFrom('overview', 'latency', 'triggers'), fc.string({ minLength: 1 }), (view, name) => {
      expect(parseFragment(`#${fragmentOf(view, name)}`)).toEqual({ view, pipeline: name });
    }));
  });

  it('adds ?pipeline= to a request URL only when the page follows a named pipeline', () => {
    expect(withPipeline(new URL('http://h/api/history'), at('http://h/#latency&p=a%26b')).searchParams.get('pipeline')).toBe('a&b');
    expect(withPipeline(new URL('http://h/api/history'), at('http://h/#latency')).search).toBe('');
    expect(withPipeline(new URL('ws://h/ws'), at('http://h/#overview&p=keywords')).toString()).toBe('ws://h/ws?pipeline=keywords');
  });
});
