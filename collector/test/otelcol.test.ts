/**
 * The real OpenTelemetry Collector configuration and the deployment manifests cannot run here, so
 * they are validated statically: every receiver / processor / exporter / extension key must be an
 * option the component documents, pipelines must reference defined components in a sound order,
 * and the file exporters must write the names `abtel collector` writes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

type KeySchema = true | { readonly [key: string]: KeySchema };
const ANY = true as const;
const keys = (...names: string[]): Record<string, true> => Object.fromEntries(names.map((name) => [name, ANY]));

// Documented options, per component README (opentelemetry-collector and -contrib, v0.120.0):
// config/configtls/README.md (client side)
const TLS_CLIENT = keys('insecure', 'insecure_skip_verify', 'ca_file', 'ca_pem', 'cert_file', 'cert_pem', 'key_file', 'key_pem', 'server_name_override', 'min_version', 'max_version', 'reload_interval', 'include_system_ca_certs_pool', 'cipher_suites');
// config/configgrpc/README.md (server) + receiver/otlpreceiver/README.md
const GRPC_SERVER = { ...keys('endpoint', 'transport', 'tls', 'max_recv_msg_size_mib', 'max_concurrent_streams', 'read_buffer_size', 'write_buffer_size', 'keepalive', 'auth', 'include_metadata') };
// config/confighttp/README.md (server) + receiver/otlpreceiver/README.md (url paths)
const HTTP_SERVER = keys('endpoint', 'tls', 'cors', 'auth', 'max_request_body_size', 'include_metadata', 'response_headers', 'compression_algorithms', 'read_timeout', 'read_header_timeout', 'write_timeout', 'idle_timeout', 'keep_alives_enabled', 'traces_url_path', 'metrics_url_path', 'logs_url_path');
// exporter/otlpexporter/README.md + config/configgrpc/README.md (client) + exporter/exporterhelper/README.md
const OTLP_EXPORTER = { ...keys('endpoint', 'compression', 'headers', 'keepalive', 'balancer_name', 'authority', 'auth', 'timeout', 'retry_on_failure', 'sending_queue', 'wait_for_ready', 'read_buffer_size', 'write_buffer_size'), tls: TLS_CLIENT };

const COMPONENTS: Record<'receivers' | 'processors' | 'exporters' | 'extensions', Record<string, KeySchema>> = {
  receivers: {
    // receiver/otlpreceiver/README.md
    otlp: { protocols: { grpc: GRPC_SERVER, http: HTTP_SERVER } },
  },
  processors: {
    // processor/memorylimiterprocessor/README.md
    memory_limiter: keys('check_interval', 'limit_mib', 'spike_limit_mib', 'limit_percentage', 'spike_limit_percentage'),
    // processor/batchprocessor/README.md
    batch: keys('timeout', 'send_batch_size', 'send_batch_max_size', 'metadata_keys', 'metadata_cardinality_limit'),
  },
  exporters: {
    // contrib exporter/fileexporter/README.md
    file: {
      ...keys('path', 'append', 'format', 'encoding', 'compression', 'flush_interval'),
      rotation: keys('max_megabytes', 'max_days', 'max_backups', 'localtime'),
      group_by: keys('enabled', 'resource_attribute', 'max_open_files'),
    },
    // contrib exporter/loadbalancingexporter/README.md
    loadbalancing: {
      ...keys('routing_key', 'routing_attributes', 'timeout', 'retry_on_failure', 'sending_queue'),
      protocol: { otlp: OTLP_EXPORTER },
      resolver: {
        static: keys('hostnames'),
        dns: keys('hostname', 'port', 'interval', 'timeout'),
        k8s: keys('service', 'ports', 'timeout', 'return_hostnames'),
        aws_cloud_map: keys('namespace', 'service_name', 'interval', 'timeout', 'health_status', 'port'),
      },
    },
    otlp: OTLP_EXPORTER,
  },
  extensions: {
    // contrib extension/healthcheckextension/README.md
    health_check: keys('endpoint', 'path', 'response_body', 'check_collector_pipeline', 'tls'),
  },
};
// service/README.md (service::telemetry)
const SERVICE: KeySchema = {
  extensions: ANY,
  pipelines: ANY,
  telemetry: { logs: keys('level', 'development', 'encoding', 'disable_caller', 'disable_stacktrace', 'output_paths', 'error_output_paths', 'initial_fields', 'sampling', 'processors'), metrics: keys('level', 'readers'), traces: ANY, resource: ANY },
};

function undocumented(value: unknown, schema: KeySchema, path: string): string[] {
  if (schema === true) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected a mapping`];
  const problems: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const next = schema[key];
    if (next === undefined) problems.push(`${path}.${key} is not a documented option`);
    else problems.push(...undocumented(child, next, `${path}.${key}`));
  }
  return problems;
}

/** Every problem in one Collector configuration. */
function validate(config: any): string[] {
  const problems: string[] = [];
  for (const section of ['receivers', 'processors', 'exporters', 'extensions'] as const) {
    for (const [id, settings] of Object.entries(config[section] ?? {})) {
      const type = id.split('/')[0]!;
      const schema = COMPONENTS[section][type];
      if (!schema) problems.push(`${section}.${id}: component type "${type}" is not one this project documents`);
      else problems.push(...undocumented(settings ?? {}, schema, `${section}.${id}`));
    }
  }
  problems.push(...undocumented(config.service, SERVICE, 'service'));
  for (const extension of config.service?.extensions ?? []) if (!(extension in (config.extensions ?? {}))) problems.push(`service.extensions: ${extension} is not defined`);
  for (const [name, pipeline] of Object.entries<any>(config.service?.pipelines ?? {})) {
    for (const section of ['receivers', 'processors', 'exporters'] as const) {
      for (const id of pipeline[section] ?? []) if (!(id in (config[section] ?? {}))) problems.push(`pipeline ${name}: ${section} ${id} is not defined`);
    }
    const processors: string[] = pipeline.processors ?? [];
    if (processors.length > 0 && processors[0] !== 'memory_limiter') problems.push(`pipeline ${name}: memory_limiter must come first`);
    if (processors.includes('batch') && processors.at(-1) !== 'batch') problems.push(`pipeline ${name}: batch must come last`);
    if ((pipeline.receivers ?? []).length === 0 || (pipeline.exporters ?? []).length === 0) problems.push(`pipeline ${name}: needs receivers and exporters`);
  }
  return problems;
}

describe('collector/otelcol/config.yaml', () => {
  const config = parse(read('otelcol/config.yaml'));

  it('uses only documented options and sound pipelines', () => {
    expect(validate(config)).toEqual([]);
  });

  it('the validator catches an undocumented key and a misordered pipeline', () => {
    const broken = structuredClone(config);
    broken.exporters['file/traces'].rotation.max_size = 10;
    broken.service.pipelines.traces.processors = ['batch', 'memory_limiter'];
    expect(validate(broken)).toEqual([
      'exporters.file/traces.rotation.max_size is not a documented option',
      'pipeline traces: memory_limiter must come first',
      'pipeline traces: batch must come last',
    ]);
  });

  it('writes traces.jsonl and logs.jsonl as OTLP JSON with UTC rotation, like abtel collector', () => {
    expect(config.exporters['file/traces'].path).toMatch(/\/traces\.jsonl$/);
    expect(config.exporters['file/logs'].path).toMatch(/\/logs\.jsonl$/);
    for (const id of ['file/traces', 'file/logs']) {
      expect(config.exporters[id].format).toBe('json');
      expect(config.exporters[id].rotation.localtime).toBe(false);
      expect(config.exporters[id].rotation.max_megabytes).toBeGreaterThan(0);
    }
    expect(config.service.pipelines.traces.exporters).toEqual(['file/traces']);
    expect(config.service.pipelines.logs.exporters).toEqual(['file/logs']);
  });

  it('explains every setting with a comment and names distribution and minimum version', () => {
    const text = read('otelcol/config.yaml');
    expect(text).toMatch(/otelcol-contrib/);
    expect(text).toMatch(/Minimum version: v0\.\d+\.\d+/);
    const lines = text.split('\n');
    // Every leaf setting inside a component is preceded by a comment line somewhere in its block.
    for (const key of ['check_interval', 'limit_percentage', 'spike_limit_percentage', 'timeout', 'send_batch_size', 'send_batch_max_size', 'max_megabytes', 'max_days', 'max_backups', 'localtime', 'flush_interval', 'format', 'max_recv_msg_size_mib', 'max_request_body_size']) {
      const index = lines.findIndex((line) => line.trim().startsWith(`${key}:`));
      expect(index, key).toBeGreaterThan(0);
      expect(lines[index - 1]!.trim().startsWith('#'), `comment above ${key}`).toBe(true);
    }
  });
});

describe('collector/deploy', () => {
  it('docker-compose: agent → gateways → shared volume, with valid configs that exist', () => {
    const compose = parse(read('deploy/docker-compose/docker-compose.yaml'));
    const services = compose.services;
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['agent', 'gateway-1', 'gateway-2']));
    for (const [name, service] of Object.entries<any>(services)) {
      for (const volume of service.volumes ?? []) {
        const host = String(volume).split(':')[0]!;
        if (host.startsWith('.') && !host.endsWith('/data')) expect(existsSync(resolve(ROOT, 'deploy/docker-compose', host)), `${name}: ${host}`).toBe(true);
      }
      if (name !== 'init-data') expect(service.image ?? compose['x-collector'].image).toMatch(/^otel\/opentelemetry-collector-contrib:0\.\d+\.\d+$/);
    }
    const agent = parse(read('deploy/docker-compose/agent.yaml'));
    expect(validate(agent)).toEqual([]);
    expect(agent.exporters.loadbalancing.routing_key).toBe('traceID');
    expect(agent.exporters.loadbalancing.resolver.static.hostnames).toEqual(['gateway-1:4317', 'gateway-2:4317']);
    expect(services['gateway-1'].environment.ABTEL_DATA_DIR).not.toBe(services['gateway-2'].environment.ABTEL_DATA_DIR);
  });

  it('kubernetes: agents load-balance by trace id over a gateway StatefulSet writing volumes', () => {
    const documents = ['deploy/kubernetes/gateway.yaml', 'deploy/kubernetes/agent.yaml'].flatMap((path) => parseAllDocuments(read(path)).map((document) => document.toJSON()));
    const byKind = (kind: string, name: string) => documents.find((document) => document.kind === kind && document.metadata.name === name);
    const gatewayConfig = parse(byKind('ConfigMap', 'abtel-gateway-config').data['config.yaml']);
    // The embedded gateway configuration is the single-Collector configuration, unchanged.
    expect(gatewayConfig).toEqual(parse(read('otelcol/config.yaml')));
    const agentConfig = parse(byKind('ConfigMap', 'abtel-agent-config').data['config.yaml']);
    expect(validate(agentConfig)).toEqual([]);
    const loadbalancing = agentConfig.exporters.loadbalancing;
    expect(loadbalancing.routing_key).toBe('traceID');
    const headless = byKind('Service', 'abtel-gateway-headless');
    expect(headless.spec.clusterIP).toBe('None');
    expect(loadbalancing.resolver.dns.hostname).toBe(`${headless.metadata.name}.${headless.metadata.namespace}.svc.cluster.local`);
    const statefulSet = byKind('StatefulSet', 'abtel-gateway');
    expect(statefulSet.spec.serviceName).toBe(headless.metadata.name);
    expect(statefulSet.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const container = statefulSet.spec.template.spec.containers[0];
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(container.env.find((entry: any) => entry.name === 'ABTEL_DATA_DIR').value).toBe('/data/$(POD_NAME)');
    expect(headless.spec.selector).toEqual(statefulSet.spec.template.metadata.labels);
    const kustomization = parse(read('deploy/kubernetes/kustomization.yaml'));
    for (const resource of kustomization.resources) expect(existsSync(join(ROOT, 'deploy/kubernetes', resource))).toBe(true);
  });
});
