// Reads benchmark JSON files (the leader's --json output, src/bench/runner.ts) into the flat
// model the report draws from. The reader is deliberately lenient: result files from older
// and newer builds differ in which optional fields they carry (floor, RSS, followers'
// histograms, open-loop sweeps), and a plot whose fields are absent is skipped with a note,
// never an error. Only a file that is not a benchmark result at all (no `runs` array) is
// refused.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { decodeFromCompressedBase64 } from "hdr-histogram-js";
import { UsageError } from "../errors/errors.js";

/** One run of one case, with the figures the plots use. */
export interface ReportRun {
  /** The result set (file) this run came from; see ResultSet.series. */
  series: string;
  name: string;
  conc: number | null;
  maxrate: number | null;
  bytes: number;
  run: number;
  proposals: number;
  wallNs: number;
  nsPerOp: number;
  p50Ns: number;
  p99Ns: number;
  cpuUsPerOp: number | null;
  /** Acknowledged proposals per second of wall time. */
  throughput: number;
  /** The speed-of-light floor printed for this run, in ns per proposal, where present. */
  floorNs: number | null;
  /** How many floors one proposal took (the run's x-floor, see docs/floor.md), where present. */
  xFloor: number | null;
  /** A sweep step's closed-loop capacity (proposals/s) that its offered rate is a share of. */
  capacity: number | null;
  /** Resident set size in bytes by process role ("leader", "follower 2", ...), where present. */
  rssBytes: Record<string, number>;
}

/** The percentile view of one histogram (what every JSON file carries). */
export interface Distribution {
  unit: string;
  count: number;
  /** [percentile (0-100), value] pairs, ascending by percentile. */
  percentiles: Array<[number, number]>;
  /** True when the percentiles come from a full HDR histogram rather than a summary. */
  fromHdr: boolean;
}

/** One process's histograms by metric name. */
export interface RoleHistograms {
  role: string;
  histograms: Record<string, Distribution>;
}

/** One process's memory over the session (the top-level `rss` of a result file). */
export interface ProcessRss {
  process: string;
  /** At the end of the session. */
  rssBytes: number | null;
  /** The peak the kernel recorded (VmHWM). */
  maxRssBytes: number | null;
  /** [seconds since the start, bytes] readings taken during the session. */
  samples: Array<[number, number]>;
}

export interface ResultSet {
  path: string;
  /** Legend label: the pipeline, plus whatever else tells this file apart from the others. */
  series: string;
  pipeline: string;
  startedAt: string;
  environment: Record<string, unknown>;
  config: Record<string, unknown>;
  bench: Record<string, unknown>;
  walSyncMode: string;
  runs: ReportRun[];
  roles: RoleHistograms[];
  rss: ProcessRss[];
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(v: unknown, fallback: string): string {
  return typeof v === "string" ? v : fallback;
}

/** The percentiles a summary carries, by field name. */
const SUMMARY_PERCENTILES: ReadonlyArray<[string, number]> = [
  ["min", 0],
  ["p50", 50],
  ["p90", 90],
  ["p99", 99],
  ["p999", 99.9],
  ["max", 100],
];

/** Percentiles read from a full histogram: dense enough to draw a smooth curve on a log axis. */
const HDR_PERCENTILES: readonly number[] = [
  0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 97.5, 98, 98.5, 99, 99.25, 99.5,
  99.75, 99.9, 99.95, 99.99, 99.999, 100,
];

/**
 * A histogram entry in HDR's own compressed base64 encoding, if the entry carries one (under
 * whatever key: the name is not fixed yet, so any string that decodes is taken).
 */
function decodeHdr(entry: Json): Array<[number, number]> | null {
  for (const value of Object.values(entry)) {
    if (typeof value !== "string" || value.length < 16) continue;
    try {
      const h = decodeFromCompressedBase64(value, 32, false);
      try {
        if (h.totalCount === 0) return [];
        return HDR_PERCENTILES.map((p) => [p, p === 100 ? h.maxValue : h.getValueAtPercentile(p)]);
      } finally {
        h.destroy();
      }
    } catch {
      // Not an HDR encoding; try the next field.
    }
  }
  return null;
}

function distribution(entry: Json): Distribution | null {
  const count = num(entry.count);
  if (count === null) return null;
  const unit = str(entry.unit, "count");
  const decoded = decodeHdr(entry);
  if (decoded !== null) return { unit, count, percentiles: decoded, fromHdr: true };
  const percentiles: Array<[number, number]> = [];
  for (const [field, p] of SUMMARY_PERCENTILES) {
    const v = num(entry[field]);
    if (v !== null) percentiles.push([p, v]);
  }
  return { unit, count, percentiles, fromHdr: false };
}

/** `{ histograms: { name: entry } }`, the shape of MetricsJson, into distributions by name. */
function histogramsOf(metrics: Json): Record<string, Distribution> | null {
  if (!isObject(metrics.histograms)) return null;
  const out: Record<string, Distribution> = {};
  for (const [name, entry] of Object.entries(metrics.histograms)) {
    if (!isObject(entry)) continue;
    const d = distribution(entry);
    if (d !== null && d.count > 0) out[name] = d;
  }
  return out;
}

/**
 * A role name for a histogram set: its own `role`, else its holder's `role`/`id` (as in
 * `followers: [{ id: 2, metrics }]`), else from its path; the top-level `metrics` is the
 * leader's own.
 */
function roleName(path: readonly string[], metrics: Json, holder: Json): string {
  for (const o of [metrics, holder]) if (typeof o.role === "string") return o.role;
  if (path.length === 1 && path[0] === "metrics") return "leader";
  const id = num(metrics.id) ?? num(holder.id);
  if (path.some((p) => /follower/i.test(p))) {
    const numbered = [...path].reverse().find((p) => /\d/.test(p) && !/follower/i.test(p));
    const n = id ?? (numbered === undefined ? null : Number(numbered.replace(/\D/g, "")));
    return n === null ? "follower" : `follower ${n}`;
  }
  return id === null ? path.join(".") : `node ${id}`;
}

/**
 * Every histogram set in the file outside `runs`: the leader's `metrics`, and followers'
 * wherever a newer writer puts them (`followers: [{ id, metrics }]`, `metrics.followers`,
 * `nodes.<id>.metrics`, ...). Found by shape, a `histograms` object, not by a fixed path.
 */
function findRoles(report: Json): RoleHistograms[] {
  const found: RoleHistograms[] = [];
  const visit = (value: unknown, path: string[], holder: Json, depth: number): void => {
    if (depth > 5) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        visit(item, [...path, String(i)], isObject(item) ? item : holder, depth + 1);
      });
      return;
    }
    if (!isObject(value)) return;
    const histograms = histogramsOf(value);
    if (histograms !== null && Object.keys(histograms).length > 0) {
      found.push({ role: roleName(path, value, holder), histograms });
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === "histograms" || (depth === 0 && (key === "runs" || key === "rss"))) continue;
      visit(child, [...path, key], value, depth + 1);
    }
  };
  visit(report, [], report, 0);
  return found;
}

/** `rss: { leader: { rssBytes, maxRssBytes, samples: [{ atS, rssBytes }] }, "follower 2": … }`. */
function sessionRss(raw: unknown): ProcessRss[] {
  if (!isObject(raw)) return [];
  const out: ProcessRss[] = [];
  for (const [process, entry] of Object.entries(raw)) {
    if (!isObject(entry)) continue;
    const samples: Array<[number, number]> = [];
    if (Array.isArray(entry.samples)) {
      for (const s of entry.samples) {
        if (!isObject(s)) continue;
        const at = num(s.atS);
        const bytes = num(s.rssBytes);
        if (at !== null && bytes !== null) samples.push([at, bytes]);
      }
    }
    const rssBytes = num(entry.rssBytes);
    const maxRssBytes = num(entry.maxRssBytes);
    if (rssBytes === null && maxRssBytes === null && samples.length === 0) continue;
    out.push({ process, rssBytes, maxRssBytes, samples });
  }
  return out;
}

/** RSS in bytes by role, from `rssBytes`/`maxRssBytes`/`rss` (a number or an object by role). */
function rssOf(run: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ["rssBytes", "maxRssBytes", "rss"]) {
    const v = run[key];
    const n = num(v);
    if (n !== null) {
      out.leader = n;
      return out;
    }
    if (isObject(v)) {
      for (const [role, bytes] of Object.entries(v)) {
        const b = num(bytes) ?? (isObject(bytes) ? num(bytes.bytes ?? bytes.rssBytes) : null);
        if (b !== null) out[role] = b;
      }
      if (Object.keys(out).length > 0) return out;
    }
  }
  return out;
}

function readRun(raw: unknown, series: string): ReportRun | null {
  if (!isObject(raw)) return null;
  const nsPerOp = num(raw.nsPerOp);
  const proposals = num(raw.proposals) ?? 0;
  const wallNs = num(raw.wallNs) ?? 0;
  if (nsPerOp === null || proposals <= 0) return null;
  const latency = isObject(raw.latencyNs) ? raw.latencyNs : {};
  const floorNs = num(raw.floorNs);
  return {
    series,
    name: str(raw.name, "?"),
    conc: num(raw.conc),
    maxrate: num(raw.maxrate) ?? (isObject(raw.sweep) ? num(raw.sweep.offeredRate) : null),
    bytes: num(raw.bytes) ?? 0,
    run: num(raw.run) ?? 1,
    proposals,
    wallNs,
    nsPerOp,
    p50Ns: num(raw.p50Ns) ?? num(latency.p50) ?? 0,
    p99Ns: num(raw.p99Ns) ?? num(latency.p99) ?? 0,
    cpuUsPerOp: num(raw.cpuUsPerOp),
    throughput: num(raw.achievedRate) ?? (wallNs > 0 ? (proposals * 1e9) / wallNs : 0),
    floorNs,
    xFloor: num(raw.xFloor),
    capacity: isObject(raw.sweep) ? num(raw.sweep.capacityPerS) : null,
    rssBytes: rssOf(raw),
  };
}

/** Thrown for a file that is missing, not JSON, or not a benchmark result. */
export class InputError extends UsageError {
  constructor(message: string) {
    super(message, "bad-input-file");
  }
}

/** A result file's text as JSON with a "runs" array; an InputError naming the file if not. */
export function resultJson(path: string, text: string): Json & { runs: unknown[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path}: not JSON (${err instanceof Error ? err.message : err})`);
  }
  if (!isObject(raw) || !Array.isArray(raw.runs)) {
    throw new InputError(`${path}: not a rafttoy benchmark result (no "runs" array)`);
  }
  return raw as Json & { runs: unknown[] };
}

/** A file's text; an InputError naming it if it cannot be read. */
export async function readInputText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read (${code ?? String(err)})`);
  }
}

/** Parses one result file's text (series labels are assigned later, across all files). */
export function parseResultSet(path: string, text: string): ResultSet {
  const raw = resultJson(path, text);
  const config = isObject(raw.config) ? raw.config : {};
  const pipeline = str(config.pipeline, "unknown pipeline");
  const runs = raw.runs.map((r) => readRun(r, pipeline)).filter((r) => r !== null);
  return {
    path,
    series: pipeline,
    pipeline,
    startedAt: str(raw.startedAt, ""),
    environment: isObject(raw.environment) ? raw.environment : {},
    config,
    bench: isObject(raw.bench) ? raw.bench : {},
    walSyncMode: str(raw.walSyncMode, ""),
    runs,
    roles: findRoles(raw),
    rss: sessionRss(raw.rss),
  };
}

/** Configuration keys that describe the system under test (not ports, ids or paths). */
const DISTINGUISHING_KEYS: readonly string[] = [
  "pipeline",
  "wal",
  "engine",
  "transport",
  "walDelayMs",
  "diskDelay",
  "diskDelayMs",
  "netDelay",
  "netDelayMs",
  "keys",
  "metrics",
];

/**
 * Names each set for the legend: its pipeline, plus the configuration values that differ
 * between the files, plus the file name when two sets would still look the same.
 */
export function labelSeries(sets: ResultSet[]): void {
  const differing = DISTINGUISHING_KEYS.filter(
    (k) => k !== "pipeline" && new Set(sets.map((s) => JSON.stringify(s.config[k]))).size > 1,
  );
  const labels = sets.map((s) =>
    [s.pipeline, ...differing.map((k) => `${k}=${String(s.config[k] ?? "-")}`)].join(" "),
  );
  const seen = new Map<string, number>();
  for (const l of labels) seen.set(l, (seen.get(l) ?? 0) + 1);
  sets.forEach((s, i) => {
    const label = labels[i]!;
    s.series = seen.get(label)! > 1 ? `${label} (${basename(s.path)})` : label;
    for (const r of s.runs) r.series = s.series;
  });
}

/** Reads and labels every file; a bad file is an InputError naming it. */
export async function readResultSets(paths: readonly string[]): Promise<ResultSet[]> {
  const sets: ResultSet[] = [];
  for (const path of paths) {
    sets.push(parseResultSet(path, await readInputText(path)));
  }
  labelSeries(sets);
  return sets;
}
