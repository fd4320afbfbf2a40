/**
 * The dashboard page: one EventSource on `/events`, a full update twice a second (tables) and
 * the plot rows it has not seen yet (plots). Everything is drawn with DOM text (never HTML from
 * the data) and uPlot, bundled by `npm run build`.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { PlotRow, Snapshot, UeRow } from '../snapshot.js';

/** Plot rows kept: ten minutes at two per second, as the server keeps them. */
const MAX_ROWS = 1200;
/** The epoch timeline's span. */
const TIMELINE_MS = 10 * 60_000;

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from the page`);
  return element as T;
};

/** The body of table `#id`: index.html gives each table one. */
const bodyOf = (id: string): HTMLTableSectionElement => {
  const body = byId<HTMLTableElement>(id).tBodies[0];
  if (body === undefined) throw new Error(`#${id} has no <tbody>`);
  return body;
};

function color(index: number): string {
  return `hsl(${(index * 137.508) % 360} 65% 45%)`;
}

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function mbps(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function cell(row: HTMLTableRowElement, text: string, column?: string): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (column !== undefined) td.dataset.col = column;
  return td;
}

function linkText(ue: UeRow): string {
  const link = ue.link;
  if (link === null) return '–';
  const down = link.downlinkMbps === null ? '∞' : mbps(link.downlinkMbps);
  return `${mbps(link.uplinkMbps)} / ${down} Mbps, ${ms(link.rttMs)} ms${link.source === 'measured' ? ' (measured)' : ''}`;
}

function stateText(ue: UeRow): string {
  if (!ue.online) return 'offline';
  if (ue.decision === null) return 'no decision';
  return ue.decision.cut === ue.decision.lastCut ? 'local' : 'offloading';
}

/** Index of each UE's colour: its place among every UE ever shown, so colours stay put. */
const colours = new Map<string, number>();
function colourOf(ue: string): string {
  let index = colours.get(ue);
  if (index === undefined) {
    index = colours.size;
    colours.set(ue, index);
  }
  return color(index);
}

const previousCells = new Map<string, string>();

function renderFleet(snapshot: Snapshot): void {
  const body = bodyOf('fleet');
  const rows: HTMLTableRowElement[] = [];
  for (const ue of snapshot.ues) {
    const row = document.createElement('tr');
    row.dataset.ue = ue.ue;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colourOf(ue.ue);
    row.insertCell().append(swatch);
    cell(row, ue.ue, 'ue');
    cell(row, ue.model ?? '–', 'model');
    cell(row, ms(ue.localMs), 'device');
    cell(row, linkText(ue), 'link');
    cell(row, ue.decision === null ? '–' : `${ue.decision.cutName} (${ue.decision.cut})`, 'cut');
    cell(row, ue.decision === null ? '–' : String(ue.decision.units), 'units');
    cell(row, ms(ue.decision?.predictedMs), 'predicted');
    cell(row, ms(ue.measured?.p50Ms), 'p50');
    cell(row, ms(ue.measured?.p99Ms), 'p99');
    const state = cell(row, stateText(ue), 'state');
    state.className = `state-${ue.online ? 'online' : 'offline'}`;
    for (const td of row.cells) {
      const column = td.dataset.col;
      if (column === undefined) continue;
      const key = `${ue.ue}/${column}`;
      const before = previousCells.get(key);
      if (before !== undefined && before !== td.textContent) td.classList.add('changed');
      previousCells.set(key, td.textContent ?? '');
    }
    rows.push(row);
  }
  body.replaceChildren(...rows);
}

function renderHeader(snapshot: Snapshot): void {
  const connection = byId('connection');
  connection.textContent = snapshot.connected ? 'broker connected' : 'broker unreachable';
  connection.className = `badge ${snapshot.connected ? 'ok' : 'bad'}`;
  const scheduler = snapshot.scheduler;
  byId('scheduler').textContent =
    scheduler === null
      ? 'no scheduler status yet'
      : `scheduler ${scheduler.leaderId}: epoch ${scheduler.epoch}, ${scheduler.solver}, last solve ${ms(scheduler.lastSolveMs)} ms`;
  byId('units').textContent = `edge units in use ${snapshot.unitsInUse} of ${snapshot.units}`;
  byId('rejected').textContent =
    snapshot.rejected > 0 ? `${snapshot.rejected} invalid messages ignored` : '';
}

function renderWorkers(snapshot: Snapshot): void {
  const body = bodyOf('workers');
  body.replaceChildren(
    ...snapshot.workers.map((worker) => {
      const row = document.createElement('tr');
      cell(row, worker.worker);
      cell(row, String(worker.units));
      cell(row, worker.models.join(', '));
      return row;
    }),
  );
}

function renderWhatIf(snapshot: Snapshot): void {
  const whatIf = snapshot.whatIf;
  const note = byId('whatif-note');
  const body = bodyOf('whatif');
  if (whatIf === null) {
    note.textContent = 'solving…';
    body.replaceChildren();
    return;
  }
  const forced = whatIf.forcedLocal > 0 ? `, ${whatIf.forcedLocal} local-only` : '';
  note.textContent =
    whatIf.note ??
    `${whatIf.ues} UEs on R = ${whatIf.units}${forced}, solved at ${new Date(whatIf.at).toLocaleTimeString()}`;
  body.replaceChildren(
    ...whatIf.rows.map((entry) => {
      const row = document.createElement('tr');
      row.dataset.solver = entry.solver;
      cell(row, entry.solver);
      cell(row, ms(entry.maxLatencyMs));
      cell(row, ms(entry.meanLatencyMs));
      cell(row, String(entry.unitsUsed));
      cell(row, String(entry.localUes));
      cell(row, entry.solveMs.toFixed(3));
      return row;
    }),
  );
}

function renderEpochs(snapshot: Snapshot): void {
  const host = byId('epochs');
  const now = snapshot.at;
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '0 0 1000 60');
  svg.setAttribute('preserveAspectRatio', 'none');
  const axis = document.createElementNS(svgNs, 'line');
  for (const [k, v] of Object.entries({ x1: '0', x2: '1000', y1: '40', y2: '40', stroke: '#99a' }))
    axis.setAttribute(k, v);
  svg.append(axis);
  const recent = snapshot.epochs.filter((mark) => now - mark.at <= TIMELINE_MS);
  for (const mark of recent) {
    const x = 1000 * (1 - (now - mark.at) / TIMELINE_MS);
    const tick = document.createElementNS(svgNs, 'line');
    for (const [k, v] of Object.entries({
      x1: String(x),
      x2: String(x),
      y1: '20',
      y2: '48',
      stroke: '#2a5db0',
      'stroke-width': String(Math.min(6, 1 + mark.decisions / 4)),
    }))
      tick.setAttribute(k, v);
    const title = document.createElementNS(svgNs, 'title');
    title.textContent = `epoch ${mark.epoch}: ${mark.decisions} decisions (${mark.solver})`;
    tick.append(title);
    svg.append(tick);
  }
  const list = document.createElement('ol');
  list.reversed = true;
  for (const mark of snapshot.epochs.slice(-6).reverse()) {
    const item = document.createElement('li');
    item.value = mark.epoch;
    item.textContent = `epoch ${mark.epoch} at ${new Date(mark.at).toLocaleTimeString()}: ${mark.decisions} decision${mark.decisions === 1 ? '' : 's'} (${mark.solver})`;
    list.append(item);
  }
  const caption = document.createElement('div');
  caption.textContent = `last 10 minutes; ${snapshot.epochs.length} epochs seen`;
  host.replaceChildren(svg, caption, list);
}

/** One uPlot chart; rebuilt when its series change (UEs come and go). */
class Chart {
  private plot: uPlot | undefined;
  private key = '';

  constructor(
    private readonly element: HTMLElement,
    private readonly unit: string,
    /** Latencies span milliseconds to seconds: a log scale shows both. */
    private readonly log = false,
  ) {}

  update(
    series: readonly uPlot.Series[],
    data: uPlot.AlignedData,
    latest: Record<string, number | null>,
  ): void {
    const key = JSON.stringify(series.map((s) => s.label));
    if (this.plot === undefined || key !== this.key) {
      this.plot?.destroy();
      this.key = key;
      this.plot = new uPlot(
        {
          width: Math.max(320, this.element.clientWidth),
          height: 240,
          legend: { show: series.length <= 3 },
          scales: { x: { time: true }, y: this.log ? { distr: 3 } : {} },
          axes: [{}, { label: this.unit, size: 60 }],
          series: [{}, ...series],
        },
        data,
        this.element,
      );
    } else {
      this.plot.setData(data);
    }
    // What the plot now holds, for whoever reads the page (the browser test, a script).
    this.element.dataset.latest = JSON.stringify(latest);
    this.element.dataset.points = String(data[0].length);
  }

  resize(): void {
    this.plot?.setSize({ width: Math.max(320, this.element.clientWidth), height: 240 });
  }
}

const latencyChart = new Chart(byId('plot-latency'), 'ms', true);
const bandwidthChart = new Chart(byId('plot-bandwidth'), 'Mbps');
const fleetChart = new Chart(byId('plot-fleet'), 'ms', true);
let rows: PlotRow[] = [];

function lastValue(values: readonly (number | null)[]): number | null {
  return values.findLast((value): value is number => value !== null) ?? null;
}

function renderPlots(snapshot: Snapshot): void {
  if (snapshot.rows.length > 0) {
    rows = rows.concat(snapshot.rows);
    if (rows.length > MAX_ROWS) rows = rows.slice(-MAX_ROWS);
  }
  const x = rows.map((row) => row.t / 1000);
  const column = (ue: string, k: 0 | 1 | 2) => rows.map((row) => row.ues[ue]?.[k] ?? null);
  const latency: uPlot.Series[] = [];
  const latencyData: (number | null)[][] = [];
  const bandwidth: uPlot.Series[] = [];
  const bandwidthData: (number | null)[][] = [];
  const latestLatency: Record<string, number | null> = {};
  const latestBandwidth: Record<string, number | null> = {};
  for (const ue of snapshot.plotted) {
    const stroke = colourOf(ue);
    const measured = column(ue, 0);
    const predicted = column(ue, 1);
    const uplink = column(ue, 2);
    latency.push({ label: `${ue} measured`, stroke, width: 1.5, spanGaps: true });
    latency.push({ label: `${ue} predicted`, stroke, width: 1, dash: [6, 4], spanGaps: true });
    latencyData.push(measured, predicted);
    bandwidth.push({ label: ue, stroke, width: 1.5, spanGaps: true });
    bandwidthData.push(uplink);
    latestLatency[`${ue} measured`] = lastValue(measured);
    latestLatency[`${ue} predicted`] = lastValue(predicted);
    latestBandwidth[ue] = lastValue(uplink);
  }
  latencyChart.update(latency, [x, ...latencyData] as uPlot.AlignedData, latestLatency);
  bandwidthChart.update(bandwidth, [x, ...bandwidthData] as uPlot.AlignedData, latestBandwidth);
  const fleetMeasured = rows.map((row) => row.fleetMeasuredMs);
  const fleetPredicted = rows.map((row) => row.fleetPredictedMs);
  fleetChart.update(
    [
      { label: 'measured', stroke: '#c0392b', width: 1.5, spanGaps: true },
      { label: 'predicted', stroke: '#2a5db0', width: 1.5, dash: [6, 4], spanGaps: true },
    ],
    [x, fleetMeasured, fleetPredicted] as uPlot.AlignedData,
    { measured: lastValue(fleetMeasured), predicted: lastValue(fleetPredicted) },
  );
}

function render(snapshot: Snapshot): void {
  renderHeader(snapshot);
  renderFleet(snapshot);
  renderWorkers(snapshot);
  renderWhatIf(snapshot);
  renderEpochs(snapshot);
  renderPlots(snapshot);
  document.body.dataset.updated = String(snapshot.at);
}

const events = new EventSource('events');
events.onmessage = (event: MessageEvent<string>) => render(JSON.parse(event.data) as Snapshot);
events.onerror = () => {
  const connection = byId('connection');
  connection.textContent = 'dashboard server unreachable, retrying';
  connection.className = 'badge bad';
  // The server sends every row again on a new connection.
  rows = [];
};
window.addEventListener('resize', () => {
  for (const chart of [latencyChart, bandwidthChart, fleetChart]) chart.resize();
});
