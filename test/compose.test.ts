import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseTokens, type TokenRecord } from '../broker/index.js';
import { BROKER_ENV, LOGIN_ENV } from '../cli/commands/broker-env.js';
import { UP_PORT_ENV } from '../cli/commands/up.js';
import { METRICS_ENV } from '../cli/metrics-options.js';
import { buildProgram } from '../cli/program.js';
import { defined, mapGet } from '../runtime/defined.js';
import { ENV } from '../runtime/env.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const composeText = readFileSync(`${root}docker-compose.yml`, 'utf8');
const envExample = readFileSync(`${root}.env.example`, 'utf8');

/** Every environment variable the CLI reads, from the constants the commands read them by. */
const KNOWN_ENV: ReadonlySet<string> = new Set([
  ...Object.values(ENV),
  ...Object.values(BROKER_ENV),
  ...Object.values(LOGIN_ENV),
  ...Object.values(METRICS_ENV),
  UP_PORT_ENV,
]);

type Service = Record<string, unknown>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseCompose(text: string): Record<string, unknown> {
  const compose: unknown = parse(text, { merge: true });
  if (!isRecord(compose) || !isRecord(compose.services)) throw new Error('no services');
  return compose;
}

function servicesOf(compose: Record<string, unknown>): [string, Service][] {
  return Object.entries(compose.services as Record<string, unknown>).filter(
    (entry): entry is [string, Service] => isRecord(entry[1]),
  );
}

const usesOurImage = (service: Service) =>
  service.build !== undefined ||
  (typeof service.image === 'string' && service.image.startsWith('edgesplit'));

/** Splits a command string into words the way compose does (whitespace, quotes). */
function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else word = (word ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

function commandArgs(command: unknown): string[] | undefined {
  if (typeof command === 'string') return splitWords(command);
  if (Array.isArray(command)) return command.map(String);
  return undefined;
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const [name = '', ...value] = String(entry).split('=');
        return [name, value.join('=')];
      }),
    );
  }
  if (!isRecord(env)) return {};
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, String(value)]));
}

/** The subcommand `args` run and where its own arguments start. */
function resolveCommand(program: Command, args: readonly string[]): [Command, number] {
  let command = program;
  let i = 0;
  for (const arg of args) {
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    command = sub;
    i++;
  }
  return [command, i];
}

/** What is wrong with running the CLI with `args`: unknown commands, options and values. */
function checkArgs(program: Command, args: readonly string[]): string[] {
  const [command, start] = resolveCommand(program, args);
  if (command === program) return [`"${args[0] ?? ''}" is not an edgesplit command`];
  const path = args.slice(0, start).join(' ');
  const problems: string[] = [];
  const given = new Set<string>();
  const positionals: string[] = [];
  for (let i = start; i < args.length; i++) {
    const arg = defined(args[i], `argument ${i}`);
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const option = command.options.find((o) => o.long === flag || o.short === flag);
    if (option === undefined) {
      problems.push(`${path}: unknown option ${flag}`);
      continue;
    }
    given.add(option.attributeName());
    if (!option.required && !option.optional) {
      if (eq !== -1) problems.push(`${path}: ${flag} takes no value`);
      continue;
    }
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined && (option.required || !args[i + 1]?.startsWith('-')))
      value = args[++i];
    if (value === undefined) {
      if (option.required) problems.push(`${path}: ${flag} needs a value`);
      continue;
    }
    // Values compose fills in are checked where they are defined. Choices are checked by
    // the parser commander gives such an option.
    if (value.includes('$')) continue;
    try {
      option.parseArg?.(value, option.defaultValue);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      problems.push(`${path}: ${flag} ${value}: ${error.message}`);
    }
  }
  for (const option of command.options)
    if (option.mandatory && option.defaultValue === undefined && !given.has(option.attributeName()))
      problems.push(`${path}: ${option.long ?? option.flags} is required`);
  const declared = command.registeredArguments;
  const required = declared.filter((a) => a.required).length;
  if (positionals.length < required)
    problems.push(
      `${path}: missing argument <${defined(declared[positionals.length], 'a declared argument').name()}>`,
    );
  if (!declared.some((a) => a.variadic) && positionals.length > declared.length)
    problems.push(`${path}: unexpected argument "${positionals[declared.length]}"`);
  return problems;
}

/** Checks every service run from the edgesplit image; lists the services it checked. */
function checkCompose(compose: Record<string, unknown>): { checked: string[]; problems: string[] } {
  const program = buildProgram();
  const checked: string[] = [];
  const problems: string[] = [];
  for (const [name, service] of servicesOf(compose)) {
    if (!usesOurImage(service)) continue;
    checked.push(name);
    if (service.entrypoint !== undefined) problems.push(`${name}: entrypoint is overridden`);
    if (service.env_file !== undefined)
      problems.push(`${name}: env_file is not checked; set variables under environment`);
    const args = commandArgs(service.command);
    if (args === undefined) problems.push(`${name}: no command`);
    else problems.push(...checkArgs(program, args).map((problem) => `${name}: ${problem}`));
    for (const variable of Object.keys(environmentOf(service)))
      if (!KNOWN_ENV.has(variable))
        problems.push(`${name}: environment variable ${variable} is not one the CLI reads`);
  }
  return { checked, problems };
}

/** `${NAME}`, `${NAME:-default}` and `${NAME:?error}` filled in from `vars`. */
function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)(?::?[-?][^}]*)?\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`${name} is not set`);
    return value;
  });
}

function dotenv(text: string): Record<string, string> {
  const lines = text.split('\n').filter((line) => /^\w+=/.test(line));
  return Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** The program as the CLI builds it in a container whose environment is `env`. */
function programUnder(env: Readonly<Record<string, string>>): Command {
  const saved = { ...process.env };
  for (const name of KNOWN_ENV) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return buildProgram();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

const compose = parseCompose(composeText);
/** The compose file as `docker compose up` sees it with .env.example's values. */
const filled = parseCompose(interpolate(composeText, dotenv(envExample)));
const services = new Map(servicesOf(filled));

/** `fleet run` for `fleet run --ues 1`. */
function commandPath(service: Service): string {
  const args = commandArgs(service.command) ?? [];
  return args.slice(0, resolveCommand(buildProgram(), args)[1]).join(' ');
}

describe('docker-compose.yml', () => {
  it('passes only commands, flags and environment variables the CLI has', () => {
    const { checked, problems } = checkCompose(compose);
    expect(problems).toEqual([]);
    expect(checked).toEqual(
      expect.arrayContaining(['broker', 'scheduler', 'edge-worker-1', 'edge-worker-2', 'fleet']),
    );
  });

  it('catches an unknown flag, value, command or environment variable', () => {
    const copy = structuredClone(compose);
    const edited = new Map(servicesOf(copy));
    const service = (name: string) => mapGet(edited, name, `service ${name}`);
    service('scheduler').command = ['scheduler', '--no-such-flag', '--solver', 'fastest'];
    service('fleet').command = 'fleet run --ues 1 --seed "not a number"';
    service('edge-worker-1').command = 'edge-worker-pool';
    service('broker').environment = { EDGESPLIT_NO_SUCH_VAR: '1' };
    service('edge-worker-2').environment = ['MQTT_URL=mqtt://broker:1883', 'NO_SUCH_VAR'];
    expect(checkCompose(copy).problems).toEqual([
      'broker: environment variable EDGESPLIT_NO_SUCH_VAR is not one the CLI reads',
      'scheduler: scheduler: unknown option --no-such-flag',
      expect.stringMatching(/^scheduler: scheduler: --solver fastest: Allowed choices are /),
      'edge-worker-1: "edge-worker-pool" is not an edgesplit command',
      'edge-worker-2: environment variable NO_SUCH_VAR is not one the CLI reads',
      expect.stringMatching(/^fleet: fleet run: --seed not a number: /),
    ]);
  });

  it('reads command strings the way compose splits them', () => {
    expect(splitWords(`fleet run --trace 'steps:0=5,30=1' --models "alexnet"`)).toEqual([
      'fleet',
      'run',
      '--trace',
      'steps:0=5,30=1',
      '--models',
      'alexnet',
    ]);
    expect(checkArgs(buildProgram(), ['fleet', 'run', '--ues=1'])).toEqual([
      'fleet run: --seed is required',
    ]);
  });

  it('gives every MQTT client a credential of its role that the broker accepts', () => {
    const broker = environmentOf(mapGet(services, 'broker', 'service broker'));
    const tokens = parseTokens(broker[BROKER_ENV.tokens] ?? '');
    const roles: Record<string, TokenRecord['role'] | undefined> = {
      scheduler: 'scheduler',
      'edge-worker': 'edge',
      'fleet run': 'ue',
      agent: 'ue',
      ingress: 'ingress',
      dashboard: 'observer',
    };
    const fleetKey = broker[ENV.ueFleetKey];
    for (const [name, service] of services) {
      const env = environmentOf(service);
      if (name === 'broker' || !usesOurImage(service) || env[ENV.mqttUrl] === undefined) continue;
      if (commandPath(service) === 'fleet run' && env[ENV.ueFleetKey] !== undefined) {
        // Each simulated UE logs in as itself with its key derived from the broker's fleet key.
        expect(env[ENV.ueFleetKey], name).toBe(fleetKey);
        expect(env[ENV.mqttUsername], name).toBeUndefined();
        continue;
      }
      const record = tokens.find((token) => token.username === env[ENV.mqttUsername]);
      expect(record, name).toBeDefined();
      expect(record?.token, name).toBe(env[ENV.mqttPassword]);
      expect(record?.role, name).toBe(roles[commandPath(service)]);
    }
  });

  it('runs edge workers under distinct ids, each its MQTT username, one container each', () => {
    const ids: string[] = [];
    for (const [name, service] of services) {
      if (commandPath(service) !== 'edge-worker') continue;
      const env = environmentOf(service);
      const args = commandArgs(service.command) ?? [];
      const [command, start] = resolveCommand(programUnder(env), args);
      const flag = args.indexOf('--id', start);
      const id = flag === -1 ? command.getOptionValue('id') : args[flag + 1];
      expect(id, name).toBe(env[ENV.mqttUsername]);
      ids.push(String(id));
      // Replicas share one environment, hence one id and one MQTT client id.
      const deploy = isRecord(service.deploy) ? service.deploy : {};
      expect(deploy.replicas ?? 1, name).toBe(1);
      expect(service.scale ?? 1, name).toBe(1);
    }
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ids).size).toBe(ids.length);
  });

  // `docker compose` (v2) or Debian's `docker-compose` (1.29) validates without a container
  // engine; CI installs the latter, so there a missing validator fails instead of skipping.
  const validator = [['docker', 'compose'], ['docker-compose']].find(
    ([command, ...rest]) =>
      spawnSync(command ?? '', [...rest, 'version'], { stdio: 'ignore' }).status === 0,
  );
  it.skipIf(validator === undefined && process.env.CI !== 'true')(
    'is a valid compose file for the compose validator',
    () => {
      expect(validator, 'no compose validator: apt-get install docker-compose').toBeDefined();
      const [command = 'docker-compose', ...rest] = validator ?? [];
      const result = spawnSync(
        command,
        [...rest, '--env-file', '.env.example', '-f', 'docker-compose.yml', 'config', '-q'],
        { cwd: root, encoding: 'utf8' },
      );
      expect(result.status, result.stderr).toBe(0);
    },
  );
});

/** The metrics port the image sets (`ENV EDGESPLIT_METRICS_PORT=...`). */
function imageMetricsPort(dockerfile: string): number | undefined {
  const match = new RegExp(`^ENV .*\\b${METRICS_ENV.port}=(\\d+)`, 'm').exec(dockerfile);
  return match === null ? undefined : Number(match[1]);
}

describe('metrics in docker-compose.yml', () => {
  const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
  const port = imageMetricsPort(dockerfile);

  it('checks every edgesplit service for readiness on /readyz at the metrics port of the image', () => {
    expect(port).toBe(9464);
    const checked: string[] = [];
    for (const [name, service] of services) {
      if (!usesOurImage(service)) continue;
      const health = isRecord(service.healthcheck) ? service.healthcheck : {};
      const test = commandArgs(health.test)?.join(' ') ?? '';
      expect(test, name).toContain(`http://127.0.0.1:${port}/readyz`);
      expect(health.disable ?? false, name).toBe(false);
      checked.push(name);
    }
    expect(checked).toEqual(
      expect.arrayContaining(['broker', 'scheduler', 'edge-worker-1', 'edge-worker-2', 'fleet']),
    );
    // The image's own HEALTHCHECK asks the same.
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\\\n\s+CMD .*\/readyz/m);
  });

  it('has Prometheus scrape every edgesplit service, and only services that exist, at that port', () => {
    const prometheus = services.get('prometheus');
    expect(prometheus).toBeDefined();
    const mounts = (prometheus?.volumes as string[] | undefined) ?? [];
    const configMount = mounts.find((mount) =>
      mount.endsWith(':/etc/prometheus/prometheus.yml:ro'),
    );
    expect(configMount).toBeDefined();
    const mount = defined(configMount, 'the mount of prometheus.yml');
    const file = mount.slice(0, mount.indexOf(':')).replace(/^\.\//, '');
    const config: unknown = parse(readFileSync(`${root}${file}`, 'utf8'));
    const jobs =
      isRecord(config) && Array.isArray(config.scrape_configs) ? config.scrape_configs : [];
    const scraped = new Set<string>();
    for (const job of jobs.filter(isRecord)) {
      for (const sd of (Array.isArray(job.dns_sd_configs) ? job.dns_sd_configs : []).filter(
        isRecord,
      )) {
        expect(sd.port).toBe(port);
        for (const name of Array.isArray(sd.names) ? sd.names : []) scraped.add(String(name));
      }
    }
    const ours = [...services].filter(([, service]) => usesOurImage(service)).map(([name]) => name);
    expect([...scraped].sort()).toEqual(ours.sort());
  });

  it('provisions Grafana with the Prometheus data source the dashboard uses, and the dashboard', () => {
    const grafana = services.get('grafana');
    const mounts = (grafana?.volumes as string[] | undefined) ?? [];
    const host = (target: string) =>
      mounts
        .find((mount) => mount.split(':')[1] === target)
        ?.split(':')[0]
        ?.replace(/^\.\//, '');
    const provisioning = host('/etc/grafana/provisioning');
    const dashboards = host('/var/lib/grafana/dashboards');
    expect(provisioning).toBe('deploy/grafana/provisioning');
    expect(dashboards).toBe('deploy/grafana/dashboards');
    const sources: unknown = parse(
      readFileSync(`${root}${provisioning}/datasources/prometheus.yml`, 'utf8'),
    );
    const source =
      isRecord(sources) && Array.isArray(sources.datasources) ? sources.datasources[0] : undefined;
    expect(source).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const provider: unknown = parse(
      readFileSync(`${root}${provisioning}/dashboards/edgesplit.yml`, 'utf8'),
    );
    expect(JSON.stringify(provider)).toContain('"path":"/var/lib/grafana/dashboards"');
    const dashboard = readFileSync(`${root}${dashboards}/edgesplit.json`, 'utf8');
    const uids = new Set([...dashboard.matchAll(/"uid": "([^"]+)"/g)].map((match) => match[1]));
    expect(uids).toContain((source as { uid: string }).uid);
  });
});

describe('Dockerfile', () => {
  it('copies every source folder the build compiles into the build stage', () => {
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    const build: unknown = JSON.parse(readFileSync(`${root}tsconfig.build.json`, 'utf8'));
    const include = isRecord(build) && Array.isArray(build.include) ? build.include : [];
    expect(include.length).toBeGreaterThan(0);
    const copied = new Set([...dockerfile.matchAll(/^COPY (\S+) \1$/gm)].map((match) => match[1]));
    for (const folder of include) expect(copied, `COPY ${folder} ${folder}`).toContain(folder);
  });
});
