/**
 * A histogram for the gateway's hot path (one observation per HTTP request, one per bus call), and a
 * counter that is its count: written by prom-client's Registry in the same text as prom-client's own
 * Histogram and Counter with the same observations, but observed for the cost of a Map lookup and a few
 * additions. prom-client checks the label names of every observation and builds a key of them each time;
 * here the three label values find their cell through three Maps.
 */
import type { Metric, Registry } from 'prom-client';

/** The observations of one set of label values. */
export interface Cell {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative), in the order of the bounds. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** prom-client's default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One line of a metric as prom-client's Registry writes it. */
interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  sharedLabels?: Readonly<Record<string, string>>;
  exemplar?: null;
}

interface MetricData {
  name: string;
  help: string;
  type: 'histogram' | 'counter';
  values: Value[];
  aggregator: 'sum';
}

/** The names of the three labels of a CheapHistogram. */
export type LabelNames = readonly [string, string, string];

export class CheapHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Every cell, in the order of their first observation (the order prom-client writes them in). */
  private readonly cells: Cell[] = [];
  /** The cells by the values of the first label, then the second, then the third. */
  private readonly index = new Map<string, Map<string, Map<string, Cell>>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: LabelNames,
    private readonly bounds: readonly number[] = DEFAULT_BUCKETS,
  ) {}

  /** Be written by `registry` (after what it has so far). */
  register(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  /** The cell of these values of the three labels. */
  cell(a: string, b: string, c: string): Cell {
    let byA = this.index.get(a);
    if (byA === undefined) this.index.set(a, (byA = new Map<string, Map<string, Cell>>()));
    let byB = byA.get(b);
    if (byB === undefined) byA.set(b, (byB = new Map<string, Cell>()));
    let cell = byB.get(c);
    if (cell === undefined) {
      const [na, nb, nc] = this.labelNames;
      cell = { labels: { [na]: a, [nb]: b, [nc]: c }, buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      byB.set(c, cell);
      this.cells.push(cell);
    }
    return cell;
  }

  observe(cell: Cell, value: number): void {
    cell.sum += value;
    cell.count += 1;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        cell.buckets[i] += 1;
        return;
      }
    }
  }

  /** Have `registry` write a counter of the observations by the same labels, named `name`. */
  registerCounter(registry: Registry, name: string, help: string): this {
    const metric = {
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      get: (): Promise<MetricData> =>
        Promise.resolve({
          name,
          help,
          type: 'counter',
          values: this.cells.map((c) => ({ value: c.count, labels: c.labels })),
          aggregator: 'sum',
        }),
      reset: (): void => undefined,
    };
    registry.registerMetric(metric as unknown as Metric);
    return this;
  }

  /**
   * What the Registry writes, as prom-client's Histogram gives it: the labels of a cell are shared by its
   * lines, and each line has the exemplar prom-client would give it (none: exemplars are off).
   */
  getForPromString(): Promise<MetricData> {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.cells) {
      const shared = c.labels;
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += c.buckets[i];
        values.push({
          labels: { le: this.bounds[i] },
          sharedLabels: shared,
          value: acc,
          metricName: bucket,
          exemplar: null,
        });
      }
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: shared, value: c.count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels: shared, value: c.sum, metricName: `${this.name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels: shared, value: c.count, metricName: `${this.name}_count`, exemplar: undefined },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }

  /** As prom-client's Histogram gives it to getMetricsAsJSON: every line with all its labels. */
  async get(): Promise<MetricData> {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, ...v }) => ({ ...v, labels: { ...v.labels, ...sharedLabels } }));
    return { ...data, values };
  }

  reset(): void {
    this.cells.length = 0;
    this.index.clear();
  }
}
