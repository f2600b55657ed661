/**
 * Live charts (recharts): loss with eval PPL, learning rate, tokens/s, and GPU memory by category
 * with the system (host) memory the run holds.
 */
import {
  memo,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type ReactElement,
  type ReactNode,
  type RefObject,
} from 'react';
import {
  Area,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { MEMORY_CATEGORIES, totalBytes } from '../engine/memory.ts';
import { throttle } from '../store/metrics.ts';
import { useStudio, type StudioState } from '../store/index.ts';
import { byteUnit, formatBytesIn } from '../util/bytes.ts';
import { formatBytes, formatBytesByType, formatCount, formatLr, formatLrAxis } from './format.ts';
import { CATEGORY_COLORS, HOST_COLOR } from './memory-colors.ts';
import { EmptyState, Panel } from './Panel.tsx';

/**
 * Metrics re-rendered at most 4× a second however fast batches arrive. `startedRef` holds when the
 * latest update was handed to React, so the panel can measure the update's cost.
 */
function useThrottledMetrics(): [StudioState['metrics'], RefObject<number | null>] {
  const [m, setM] = useState(() => useStudio.getState().metrics);
  const startedRef = useRef<number | null>(null);
  useEffect(() => {
    const update = throttle((next: StudioState['metrics']) => {
      startedRef.current = performance.now();
      setM(next);
    }, 250);
    return useStudio.subscribe((s, prev) => {
      if (s.metrics !== prev.metrics) update(s.metrics);
    });
  }, []);
  return [m, startedRef];
}

const AXIS = { fontSize: 11, stroke: 'var(--muted)' };
const GRID = { stroke: 'var(--border)', strokeDasharray: '3 3' };
/** The X axis every chart shares: training steps, integers, from the first to the last point. */
const STEP_AXIS = {
  allowDecimals: false,
  dataKey: 'step',
  type: 'number',
  domain: ['dataMin', 'dataMax'],
  tick: AXIS,
} as const;

/** The Charts panel. */
export function ChartsPanel() {
  const [m, startedRef] = useThrottledMetrics();
  const hasPoints = m.steps.length > 0;
  // Cost of one chart update (React render + DOM commit of all four charts), readable from the
  // Performance API as 'chart-update' entries; the e2e test reports it.
  useLayoutEffect(() => {
    const t0 = startedRef.current;
    if (t0 === null || m.steps.length === 0) return;
    startedRef.current = null;
    performance.measure('chart-update', {
      start: t0,
      end: performance.now(),
      detail: { points: m.steps.length },
    });
  }, [m, startedRef]);
  return (
    <Panel id="charts" title="Charts" hint="Loss, learning rate, throughput and GPU memory, live.">
      {!hasPoints && <EmptyState>Charts fill in as training steps arrive.</EmptyState>}
      <div className="charts">
        <LossChart m={m} />
        <MemoryChart m={m} />
        <SimpleChart
          m={m}
          name="Learning rate chart"
          title="Learning rate"
          dataKey="lr"
          color="#8a6bb8"
          fmt={formatLr}
          axisFmt={formatLrAxis}
        />
        <SimpleChart
          m={m}
          name="Throughput chart"
          title="Tokens / s"
          dataKey="tokensPerSecond"
          color="#4f9a8a"
          fmt={(v) => formatCount(Math.round(v))}
        />
      </div>
    </Panel>
  );
}

type M = { m: StudioState['metrics'] };

/** A chart's figure: its accessible name, its caption, and a box the chart fills. */
function ChartFrame({
  name,
  caption,
  children,
}: {
  name: string;
  caption: ReactNode;
  children: ReactElement;
}) {
  return (
    <figure className="chart" role="figure" aria-label={name}>
      <figcaption>{caption}</figcaption>
      <div className="chart-box">
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

/** One row of the Loss chart: a step's loss, and its evaluation when one ran after it. */
interface LossRow {
  step: number;
  loss?: number;
  smoothed?: number;
  evalLoss?: number;
}

/**
 * The Loss chart's rows: one per step, the evaluations merged in by step (a row of its own where the
 * step's point was thinned away), in step order. One data array, so the tooltip reads the row under
 * the cursor for every series.
 */
export function lossRows(m: StudioState['metrics']): LossRow[] {
  const rows: LossRow[] = m.steps.map((p) => ({
    step: p.step,
    loss: p.loss,
    smoothed: p.smoothedLoss,
  }));
  const byStep = new Map(rows.map((r) => [r.step, r]));
  let inserted = false;
  for (const e of m.evals) {
    const row = byStep.get(e.step);
    if (row) row.evalLoss = e.loss;
    else {
      const r = { step: e.step, evalLoss: e.loss };
      byStep.set(e.step, r);
      rows.push(r);
      inserted = true;
    }
  }
  if (inserted) rows.sort((a, b) => a.step - b.step);
  return rows;
}

const LossChart = memo(function LossChart({ m }: M) {
  const data = lossRows(m);
  const lastEval = m.evals.at(-1);
  return (
    <ChartFrame
      name="Loss chart"
      caption={
        <>
          Loss{' '}
          <span>
            {lastEval
              ? `eval PPL ${lastEval.perplexity.toFixed(2)} at step ${lastEval.step}`
              : 'raw, smoothed, eval'}
          </span>
        </>
      }
    >
      <LineChart data={data} margin={{ top: 6, right: 10, bottom: 0, left: -14 }}>
        <CartesianGrid {...GRID} />
        <XAxis {...STEP_AXIS} />
        <YAxis tick={AXIS} domain={['auto', 'auto']} tickFormatter={(v: number) => v.toFixed(2)} />
        <Tooltip content={<Tip />} />
        <Line
          dataKey="loss"
          name="loss"
          stroke="#9fb4cc"
          dot={false}
          isAnimationActive={false}
          strokeWidth={1}
          connectNulls
        />
        <Line
          dataKey="smoothed"
          name="smoothed"
          stroke="#2f5d8a"
          dot={false}
          isAnimationActive={false}
          strokeWidth={2}
          connectNulls
        />
        <Line
          dataKey="evalLoss"
          name="eval loss"
          stroke="none"
          dot={{ r: 3, fill: '#d08c3c', stroke: '#d08c3c' }}
          activeDot={{ r: 4, fill: '#d08c3c' }}
          isAnimationActive={false}
          legendType="circle"
        />
      </LineChart>
    </ChartFrame>
  );
});

/** The Memory chart's series of system memory (the run's host bytes, not stacked with the GPU's). */
const HOST_SERIES = 'system memory';

/** What the host memory of the latest step that has one holds, for the caption; '' when none. */
function hostNote(m: StudioState['metrics']): string {
  const host = m.last?.memory?.host ?? m.steps.findLast((p) => p.memory?.host)?.memory?.host;
  if (!host || host.checkpoints + host.optimizer === 0) return '';
  const parts = [
    host.checkpoints > 0 && `offloaded checkpoints ${formatBytes(host.checkpoints)}`,
    host.optimizer > 0 && `embedding AdamW state ${formatBytes(host.optimizer)}`,
  ].filter(Boolean);
  return `system memory ${formatBytes(host.checkpoints + host.optimizer)} (${parts.join(', ')})`;
}

const MemoryChart = memo(function MemoryChart({ m }: M) {
  // A step restored without its measured memory has a row with no values: a gap, not zeros. System
  // memory is a line of its own, drawn only for a run that holds some.
  const hasHost = m.steps.some(
    (p) => (p.memory?.host?.checkpoints ?? 0) + (p.memory?.host?.optimizer ?? 0) > 0,
  );
  const data = m.steps.map((p) => {
    const host = p.memory?.host;
    return {
      step: p.step,
      ...p.memory?.current,
      ...(hasHost && host ? { [HOST_SERIES]: host.checkpoints + host.optimizer } : {}),
    };
  });
  const peak = m.steps.reduce((x, p) => Math.max(x, p.memory?.peakTotal ?? 0), 0);
  const hostPeak = m.steps.reduce(
    (x, p) => Math.max(x, (p.memory?.host?.checkpoints ?? 0) + (p.memory?.host?.optimizer ?? 0)),
    0,
  );
  // One unit on the axis, the one its largest value takes.
  const unit = byteUnit(Math.max(peak, hostPeak));
  // What the weights series holds by type: measured bytes are by category only, so the split is the
  // plan's, said only while it is the plan of the run's own settings (locked while a run is open).
  const baseTypes = useStudio((s) =>
    ['starting', 'running', 'paused'].includes(s.run.state) ? s.plan?.baseTypes : undefined,
  );
  const weightsNote = baseTypes?.length ? `weights: ${formatBytesByType(baseTypes)} (planned)` : '';
  const host = hostNote(m);
  return (
    <ChartFrame
      name="Memory chart"
      caption={
        <>
          GPU memory{' '}
          <span>
            {peak ? `peak ${formatBytes(peak)}` : 'by category'}
            {weightsNote && ` · ${weightsNote}`}
          </span>
          {host && <span className="chart-host">{host}</span>}
        </>
      }
    >
      <ComposedChart data={data} margin={{ top: 6, right: 10, bottom: 0, left: 4 }}>
        <CartesianGrid {...GRID} />
        <XAxis {...STEP_AXIS} />
        <YAxis tick={AXIS} tickFormatter={(v: number) => formatBytesIn(v, unit)} width={58} />
        <Tooltip content={<Tip bytes weightsNote={weightsNote} />} />
        <Legend iconSize={8} wrapperStyle={{ fontSize: 11 }} />
        {MEMORY_CATEGORIES.map((c) => (
          <Area
            key={c}
            dataKey={c}
            stackId="mem"
            stroke={CATEGORY_COLORS[c]}
            fill={CATEGORY_COLORS[c]}
            fillOpacity={0.55}
            isAnimationActive={false}
          />
        ))}
        {hasHost && (
          <Line
            dataKey={HOST_SERIES}
            name={HOST_SERIES}
            stroke={HOST_COLOR}
            strokeDasharray="5 3"
            strokeWidth={1.6}
            dot={false}
            isAnimationActive={false}
            connectNulls
          />
        )}
        {peak > 0 && (
          <ReferenceLine
            y={peak}
            stroke="var(--bad)"
            strokeDasharray="4 3"
            label={{
              value: 'peak',
              fontSize: 11,
              fill: 'var(--bad)',
              position: 'insideTopRight',
            }}
          />
        )}
      </ComposedChart>
    </ChartFrame>
  );
});

interface SimpleProps extends M {
  name: string;
  title: string;
  dataKey: 'lr' | 'tokensPerSecond';
  color: string;
  fmt: (v: number) => string;
  /** The Y axis's ticks, when they need one notation for all (else `fmt`). */
  axisFmt?: (v: number) => string;
}

const SimpleChart = memo(function SimpleChart({
  m,
  name,
  title,
  dataKey,
  color,
  fmt,
  axisFmt = fmt,
}: SimpleProps) {
  const data = m.steps.map((p) => ({ step: p.step, [dataKey]: p[dataKey] }));
  return (
    <ChartFrame name={name} caption={title}>
      <LineChart data={data} margin={{ top: 6, right: 10, bottom: 0, left: 4 }}>
        <CartesianGrid {...GRID} />
        <XAxis {...STEP_AXIS} />
        <YAxis tick={AXIS} tickFormatter={axisFmt} width={58} />
        <Tooltip content={<Tip fmt={fmt} />} />
        <Line
          dataKey={dataKey}
          name={title}
          stroke={color}
          dot={false}
          isAnimationActive={false}
          strokeWidth={1.6}
        />
      </LineChart>
    </ChartFrame>
  );
});

interface TipProps {
  active?: boolean;
  payload?: readonly { name?: string | number; value?: unknown; color?: string }[];
  label?: string | number;
  bytes?: boolean;
  fmt?: (v: number) => string;
  /** A line under the memory tooltip's weights: their bytes by type (from the plan). */
  weightsNote?: string;
}

function Tip({ active, payload, label, bytes, fmt, weightsNote }: TipProps) {
  if (!active || !payload?.length) return null;
  const f = (v: number) => (bytes ? formatBytes(v) : fmt ? fmt(v) : v.toFixed(4));
  // Only the series that have a value at this step (a step without an evaluation lists no eval loss).
  const shown = payload.filter((p) => typeof p.value === 'number' && Number.isFinite(p.value));
  // The memory tooltip: GPU categories, their total, then the system memory line (not in the total).
  const host = bytes ? shown.find((p) => p.name === HOST_SERIES) : undefined;
  const gpu = host ? shown.filter((p) => p !== host) : shown;
  const total = bytes
    ? totalBytes(Object.fromEntries(gpu.map((p) => [p.name, Number(p.value)])) as never)
    : 0;
  return (
    <div className="chart-tooltip">
      <div>step {label}</div>
      {gpu.map((p) => (
        <div key={String(p.name)} style={{ color: p.color }}>
          {p.name}: {f(Number(p.value))}
        </div>
      ))}
      {bytes && gpu.length > 0 && (
        <div>
          {host ? 'GPU total' : 'total'}: {formatBytes(total)}
        </div>
      )}
      {bytes && gpu.length > 0 && weightsNote && <div>{weightsNote}</div>}
      {host && (
        <div style={{ color: host.color }}>
          {host.name}: {f(Number(host.value))}
        </div>
      )}
      {bytes && shown.length === 0 && <div>not measured (restored from an older checkpoint)</div>}
    </div>
  );
}
