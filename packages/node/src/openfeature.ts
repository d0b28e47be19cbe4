import type {
  ErrorCode,
  EvaluationContext,
  EvaluationDetails,
  FlagValue,
  Hook,
  HookContext,
  JsonValue,
  Provider,
  ResolutionDetails,
} from '@openfeature/server-sdk';
import type { Abtel, RoutedVariation } from './abtel.js';
import { defaultAbtel } from './default.js';
import { safely } from './internal/safe.js';

// Literal values of OpenFeature's ErrorCode enum; only types are imported so that loading
// @abtel/node does not load the OpenFeature SDK for apps that do not use it.
const FLAG_NOT_FOUND = 'FLAG_NOT_FOUND' as ErrorCode;
const TYPE_MISMATCH = 'TYPE_MISMATCH' as ErrorCode;
const GENERAL = 'GENERAL' as ErrorCode;

/** Options of `AbtelOpenFeatureProvider`. */
export interface AbtelOpenFeatureProviderOptions {
  /** The abtel instance whose experiments and store decide; default: the process-wide one. */
  abtel?: Abtel;
}

/**
 * An OpenFeature server provider backed by abtel definitions: flag key = experiment key,
 * targeting key = the unit id (default: the unit of the active conversation). `getStringValue`
 * returns the sticky variation key, `getObjectValue` its config. Evaluations inside a
 * conversation join the assignment to it, exactly like `experiment(key).variation()`.
 * @example
 * await OpenFeature.setProviderAndWait(new AbtelOpenFeatureProvider());
 * const persona = await OpenFeature.getClient().getStringValue('support-persona', 'control', { targetingKey: conversationId });
 */
export class AbtelOpenFeatureProvider implements Provider {
  readonly metadata = { name: 'abtel' } as const;
  readonly runsOn = 'server' as const;
  readonly #abtel: Abtel;

  constructor(options: AbtelOpenFeatureProviderOptions = {}) {
    this.#abtel = options.abtel ?? defaultAbtel();
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    const routed = await this.#route(flagKey, context);
    if ('errorCode' in routed) return { ...routed, value: defaultValue };
    return { ...details(routed), value: routed.variation };
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    const routed = await this.#route(flagKey, context);
    if ('errorCode' in routed) return { ...routed, value: defaultValue };
    const config = routed.definition.variations.find((variation) => variation.key === routed.variation)?.config ?? {};
    return { ...details(routed), value: config as T };
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return mismatch(flagKey, defaultValue, 'boolean');
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return mismatch(flagKey, defaultValue, 'number');
  }

  async #route(flagKey: string, context: EvaluationContext): Promise<RoutedVariation | { errorCode: ErrorCode; errorMessage: string; reason: 'ERROR' }> {
    if (this.#abtel.experiments.get(flagKey) === undefined) {
      return { errorCode: FLAG_NOT_FOUND, errorMessage: `no abtel experiment has the key "${flagKey}"`, reason: 'ERROR' };
    }
    try {
      const targetingKey = typeof context.targetingKey === 'string' && context.targetingKey !== '' ? context.targetingKey : undefined;
      return await this.#abtel.routeInContext(flagKey, targetingKey);
    } catch (error) {
      return { errorCode: GENERAL, errorMessage: error instanceof Error ? error.message : String(error), reason: 'ERROR' };
    }
  }
}

function details(routed: RoutedVariation): Omit<ResolutionDetails<never>, 'value'> {
  let reason: string;
  if (routed.reason === 'reused') reason = 'CACHED';
  else if (!routed.inExperiment) reason = 'DEFAULT';
  else reason = routed.definition.targeting === undefined ? 'SPLIT' : 'TARGETING_MATCH';
  return {
    variant: routed.variation,
    reason,
    flagMetadata: { experimentVersion: routed.definition.version, inExperiment: routed.inExperiment, exposed: routed.exposed, routeReason: routed.reason },
  };
}

function mismatch<T>(flagKey: string, defaultValue: T, type: string): ResolutionDetails<T> {
  return {
    value: defaultValue,
    reason: 'ERROR',
    errorCode: TYPE_MISMATCH,
    errorMessage: `abtel experiment "${flagKey}" resolves to a variation key (getStringValue) or its config (getObjectValue), not a ${type}`,
  };
}

/** Options of `abtelHook`. */
export interface AbtelHookOptions {
  /** The abtel instance to join assignments into; default: the process-wide one. */
  abtel?: Abtel;
  /**
   * Flag key → experiment key. Unmapped flags match an experiment with the same key or whose
   * definition says `exposure: { source: feature_flag, flagKey }`.
   */
  flags?: Record<string, string>;
}

/**
 * An OpenFeature hook for evaluations made by any other provider (FeatBit, GrowthBook,
 * LaunchDarkly…): when the flag maps to an abtel experiment, the evaluated variant joins the
 * active conversation, so spans are stamped and the exposure is emitted as for abtel's own
 * assignments (`feature_flag.provider.name` names that provider). Never throws.
 * @example
 * OpenFeature.addHooks(abtelHook({ flags: { 'new-support-persona': 'support-persona' } }));
 */
export function abtelHook(options: AbtelHookOptions = {}): Hook {
  const abtel = options.abtel ?? defaultAbtel();
  const flags = options.flags ?? {};
  return {
    after(hookContext: Readonly<HookContext<FlagValue>>, evaluation: EvaluationDetails<FlagValue>): void {
      safely(
        'OpenFeature hook',
        () => {
          const providerName = hookContext.providerMetadata.name;
          // abtel's own provider joins its assignments while routing.
          if (providerName === 'abtel' || evaluation.errorCode !== undefined) return;
          const experimentKey = flags[hookContext.flagKey] ?? experimentFor(abtel, hookContext.flagKey);
          if (experimentKey === undefined) return;
          const variation = variationOf(abtel, experimentKey, evaluation);
          if (variation === undefined || variation === '') return;
          const targetingKey = hookContext.context.targetingKey;
          abtel.join({
            experimentKey,
            variation,
            providerName,
            ...(typeof targetingKey === 'string' && targetingKey !== '' ? { unitId: targetingKey } : {}),
            ...(evaluation.reason !== undefined ? { reason: evaluation.reason.toLowerCase() } : {}),
          });
        },
        undefined,
      );
    },
  };
}

/**
 * The experiment variation an evaluation stands for: the flag's string value or its variant name,
 * whichever is a variation key of the experiment (value first); else the variant name.
 */
function variationOf(abtel: Abtel, experimentKey: string, evaluation: EvaluationDetails<FlagValue>): string | undefined {
  const keys = new Set(abtel.experiments.get(experimentKey)?.variations.map((variation) => variation.key) ?? []);
  const value = typeof evaluation.value === 'string' ? evaluation.value : undefined;
  if (value !== undefined && keys.has(value)) return value;
  if (evaluation.variant !== undefined && keys.has(evaluation.variant)) return evaluation.variant;
  return evaluation.variant ?? value;
}

function experimentFor(abtel: Abtel, flagKey: string): string | undefined {
  if (abtel.experiments.get(flagKey) !== undefined) return flagKey;
  return abtel.experiments.all().find((def) => def.exposure?.flagKey === flagKey)?.key;
}
