import { inspect } from 'node:util';
import { diag } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-base';
import { ParentBasedAlwaysOnSampler } from './default-sampler.js';

/** The sampler the environment asks for, and what was wrong with the variables. */
export interface SamplerFromEnvironment {
  sampler: Sampler;
  /** Reports the problems with the variables through diag, in the SDK's words. */
  reportProblems(): void;
}

const DEFAULT_RATIO = 1;

/**
 * The sampler that `NodeSDK` builds from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` when
 * it is given none. Its builder (`createSamplerFromEnv` in `@opentelemetry/sdk-node`'s
 * create-from-env.js) is not exported, and the drop-in must pass a sampler of its own to wrap it,
 * so this is that builder with the public sampler classes: the same six values (case-sensitive,
 * untrimmed), the same ratio parsing (blank or not a number: 1; outside [0, 1]: 1), and the
 * provider's default `ParentBased{root=AlwaysOn}` when the variable is unset, blank or unknown.
 * The problems are kept for `reportProblems()`: the SDK's constructor installs the diag logger
 * of `OTEL_LOG_LEVEL`, and the sampler is needed before it runs.
 */
export function samplerFromEnvironment(env: NodeJS.ProcessEnv): SamplerFromEnvironment {
  const problems: { level: 'warn' | 'error'; message: string }[] = [];
  const ratio = (): number => {
    const value = numberFrom(env, 'OTEL_TRACES_SAMPLER_ARG', problems);
    if (value === undefined) {
      problems.push({ level: 'error', message: `OTEL_TRACES_SAMPLER_ARG is blank, defaulting to ${DEFAULT_RATIO}.` });
      return DEFAULT_RATIO;
    }
    if (value < 0 || value > 1) {
      problems.push({
        level: 'error',
        message: `OTEL_TRACES_SAMPLER_ARG=${value} was given, but it is out of range ([0..1]), defaulting to ${DEFAULT_RATIO}.`,
      });
      return DEFAULT_RATIO;
    }
    return value;
  };
  const name = stringFrom(env, 'OTEL_TRACES_SAMPLER');
  let sampler: Sampler;
  switch (name) {
    case 'always_on':
      sampler = new AlwaysOnSampler();
      break;
    case 'always_off':
      sampler = new AlwaysOffSampler();
      break;
    // The provider's default, also for an unset or unknown value: abtel's own copy of it, which
    // decides the same without allocating a result per span.
    case undefined:
    case 'parentbased_always_on':
      sampler = new ParentBasedAlwaysOnSampler();
      break;
    case 'parentbased_always_off':
      sampler = new ParentBasedSampler({ root: new AlwaysOffSampler() });
      break;
    case 'traceidratio':
      sampler = new TraceIdRatioBasedSampler(ratio());
      break;
    case 'parentbased_traceidratio':
      sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
      break;
    default:
      problems.push({ level: 'error', message: `unknown OTEL_TRACES_SAMPLER value "${name}", using default` });
      sampler = new ParentBasedAlwaysOnSampler();
  }
  return {
    sampler,
    reportProblems: () => {
      for (const { level, message } of problems) diag[level](message);
    },
  };
}

// `getStringFromEnv` / `getNumberFromEnv` of @opentelemetry/core, on `env` instead of process.env.

function stringFrom(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const raw = env[key];
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}

function numberFrom(env: NodeJS.ProcessEnv, key: string, problems: { level: 'warn' | 'error'; message: string }[]): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (Number.isNaN(value)) {
    problems.push({ level: 'warn', message: `Unknown value ${inspect(raw)} for ${key}, expected a number, using defaults` });
    return undefined;
  }
  return value;
}
