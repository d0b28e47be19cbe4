import { context } from '@opentelemetry/api';
import { InMemoryProvider, OpenFeature, type Provider } from '@openfeature/server-sdk';
import { assign, parseExperiments } from '@abtel/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, installContextManager, plain, type Harness } from '../test/helpers/harness.js';
import { personaDefinition } from '../test/helpers/definitions.js';
import { abtelHook, AbtelOpenFeatureProvider } from './openfeature.js';

const experiments = parseExperiments([
  { file: 'persona.yaml', content: personaDefinition() },
  { file: 'cta.yaml', content: personaDefinition({ key: 'upgrade-cta', surface: 'cta', segments: undefined, exposure: { source: 'feature_flag', flagKey: 'gb-upgrade-cta' } }) },
]);

let disableContext: () => void;
beforeAll(() => {
  disableContext = installContextManager();
});
afterAll(async () => {
  disableContext();
  await OpenFeature.close();
});

let h: Harness;
let domain = 0;
beforeEach(() => {
  h = createHarness({ experiments });
  domain += 1;
});
afterEach(async () => {
  await h.shutdown();
});

/** A client in a domain of its own, so tests do not share providers or hooks. */
async function clientWith(provider: Provider) {
  const name = `abtel-test-${domain}`;
  await OpenFeature.setProviderAndWait(name, provider);
  return OpenFeature.getClient(name);
}

describe('AbtelOpenFeatureProvider', () => {
  it('returns the sticky variation key and config, and joins the assignment to the conversation', async () => {
    const client = await clientWith(new AbtelOpenFeatureProvider({ abtel: h.abtel }));
    const expected = assign(experiments.require('support-persona'), { id: 'conv-of-1' }).variation as string;
    await h.abtel.withConversation({ conversationId: 'conv-of-1' }, async () => {
      const details = await client.getStringDetails('support-persona', 'fallback', { targetingKey: 'conv-of-1' });
      expect(details).toMatchObject({ value: expected, variant: expected, reason: 'SPLIT', flagMetadata: { experimentVersion: 3, inExperiment: true } });
      const config = await client.getObjectValue('support-persona', {}, { targetingKey: 'conv-of-1' });
      expect(config).toEqual(experiments.require('support-persona').variations.find((v) => v.key === expected)?.config);
      h.tracerProvider.getTracer('t').startSpan('chat m', { attributes: { 'gen_ai.operation.name': 'chat' } }).end();
    });
    expect(h.spans()[0]!.attributes['abtel.experiment.variation']).toBe(expected);
    expect(h.events('abtel.exposure')).toHaveLength(1);
  });

  it('uses the conversation as targeting key when none is given, and answers errors with the default', async () => {
    const client = await clientWith(new AbtelOpenFeatureProvider({ abtel: h.abtel }));
    const expected = assign(experiments.require('support-persona'), { id: 'conv-of-2' }).variation as string;
    await h.abtel.withConversation({ conversationId: 'conv-of-2' }, async () => {
      expect(await client.getStringValue('support-persona', 'fallback')).toBe(expected);
    });
    expect(await client.getStringDetails('missing', 'fallback')).toMatchObject({ value: 'fallback', errorCode: 'FLAG_NOT_FOUND' });
    expect(await client.getBooleanDetails('support-persona', false)).toMatchObject({ value: false, errorCode: 'TYPE_MISMATCH' });
  });
});

describe('abtelHook', () => {
  it('joins a variant decided by another provider so spans and the exposure carry it', async () => {
    const other = new InMemoryProvider({
      'new-support-persona': { variants: { warm: 'warm', classic: 'classic' }, defaultVariant: 'warm', disabled: false },
      'gb-upgrade-cta': { variants: { on: 'warm', off: 'classic' }, defaultVariant: 'off', disabled: false },
      unrelated: { variants: { a: 'a' }, defaultVariant: 'a', disabled: false },
    });
    const client = await clientWith(other);
    client.addHooks(abtelHook({ abtel: h.abtel, flags: { 'new-support-persona': 'support-persona' } }));
    await h.abtel.withConversation({ conversationId: 'conv-of-3', attributes: { plan: 'free' } }, async () => {
      expect(await client.getStringValue('new-support-persona', 'x', { targetingKey: 'conv-of-3' })).toBe('warm');
      expect(await client.getStringValue('gb-upgrade-cta', 'x', { targetingKey: 'conv-of-3' })).toBe('classic');
      await client.getStringValue('unrelated', 'x');
      // The abtel API reuses the provider's decision instead of routing again.
      expect(await h.abtel.experiment('support-persona').variation()).toMatchObject({ key: 'warm', reason: 'reused' });
      h.tracerProvider.getTracer('t').startSpan('chat m', { attributes: { 'gen_ai.operation.name': 'chat' } }).end();
    });
    expect(plain(h.spans()[0]!.attributes)).toEqual({
      'gen_ai.conversation.id': 'conv-of-3',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': 'warm',
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
      'abtel.experiments': ['support-persona=warm', 'upgrade-cta=classic'],
      'abtel.assignment.ids': ['support-persona=conv-of-3', 'upgrade-cta=conv-of-3'],
      'gen_ai.operation.name': 'chat',
    });
    const exposures = h.events('abtel.exposure').map((record) => plain(record.attributes));
    expect(exposures[0]).toEqual({
      'gen_ai.conversation.id': 'conv-of-3',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': 'warm',
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
      'feature_flag.key': 'support-persona',
      'feature_flag.result.variant': 'warm',
      'feature_flag.result.reason': 'static',
      'feature_flag.context.id': 'conv-of-3',
      'feature_flag.provider.name': 'in-memory',
      'abtel.segment.plan': 'free',
    });
    expect(exposures.map((e) => e['abtel.experiment.key'])).toEqual(['support-persona', 'upgrade-cta']);
  });

  it('does nothing outside a conversation and never throws', async () => {
    const client = await clientWith(new InMemoryProvider({ 'support-persona': { variants: { warm: 'warm' }, defaultVariant: 'warm', disabled: false } }));
    client.addHooks(abtelHook({ abtel: h.abtel }));
    expect(await client.getStringValue('support-persona', 'x')).toBe('warm');
    expect(context.active()).toBeDefined();
    expect(h.events('abtel.exposure')).toHaveLength(0);
  });
});
