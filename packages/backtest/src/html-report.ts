import type { BacktestSeries } from './backtest-config.ts';
import { fmtNum } from './number-format.ts';
import type { EquityCurve } from './output-writers.ts';
import { SUMMARY_FIELDS, type BacktestSummary } from './summary.ts';
import type { Trade } from './trade-book.ts';

/**
 * report.html: one self-contained file (inline CSS and SVG, no scripts, no network), so it opens offline and
 * can be attached to an email. Long series are thinned to at most MAX_POINTS points per line, keeping each
 * bucket's extreme so drawdowns and spikes stay visible.
 */
export interface HtmlReportInput {
  readonly summary: BacktestSummary;
  readonly trades: readonly Trade[];
  readonly curve: EquityCurve;
  readonly buyAndHold: ArrayLike<number>;
  readonly series: readonly BacktestSeries[];
}

const MAX_POINTS = 1200;
const MAX_MARKERS = 400;
const W = 960;
const H = 260;
const PAD = { l: 70, r: 16, t: 14, b: 26 };

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

interface Line {
  readonly xs: ArrayLike<number>;
  readonly ys: ArrayLike<number>;
  readonly color: string;
  readonly label: string;
  readonly fill?: boolean;
}

interface Marker {
  readonly x: number;
  readonly y: number;
  readonly kind: 'entry' | 'exit';
  readonly title: string;
}

/** Indices to draw: per bucket the first point and the one furthest from it (keeps extremes). */
function thin(ys: ArrayLike<number>, max: number): number[] {
  const n = ys.length;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const per = Math.ceil(n / (max / 2));
  const out: number[] = [];
  for (let s = 0; s < n; s += per) {
    const e = Math.min(n, s + per);
    let lo = s;
    let hi = s;
    for (let i = s; i < e; i++) {
      if (ys[i]! < ys[lo]!) lo = i;
      if (ys[i]! > ys[hi]!) hi = i;
    }
    if (lo === hi) out.push(lo);
    else out.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  if (out[out.length - 1] !== n - 1) out.push(n - 1);
  return out;
}

function chart(title: string, lines: readonly Line[], markers: readonly Marker[] = [], yFmt: (y: number) => string = fmtNum): string {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const l of lines)
    for (let i = 0; i < l.ys.length; i++) {
      x0 = Math.min(x0, l.xs[i]!);
      x1 = Math.max(x1, l.xs[i]!);
      y0 = Math.min(y0, l.ys[i]!);
      y1 = Math.max(y1, l.ys[i]!);
    }
  for (const m of markers) {
    y0 = Math.min(y0, m.y);
    y1 = Math.max(y1, m.y);
  }
  if (!Number.isFinite(x0)) return `<h2>${esc(title)}</h2><p>no data</p>`;
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    y1 += Math.abs(y1) * 0.01 || 1;
    y0 -= Math.abs(y0) * 0.01 || 1;
  }
  const pw = W - PAD.l - PAD.r;
  const ph = H - PAD.t - PAD.b;
  const sx = (x: number) => PAD.l + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => PAD.t + (1 - (y - y0) / (y1 - y0)) * ph;
  const r1 = (v: number) => Math.round(v * 10) / 10;
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">`;
  for (let g = 0; g <= 4; g++) {
    const y = y0 + ((y1 - y0) * g) / 4;
    svg += `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${r1(sy(y))}" y2="${r1(sy(y))}" class="grid"/><text x="${PAD.l - 6}" y="${r1(sy(y)) + 4}" class="ylab">${esc(yFmt(y))}</text>`;
  }
  for (let g = 0; g <= 4; g++) {
    const x = x0 + ((x1 - x0) * g) / 4;
    svg += `<text x="${r1(sx(x))}" y="${H - 6}" class="xlab">${new Date(x).toISOString().slice(0, 16).replace('T', ' ')}</text>`;
  }
  for (const l of lines) {
    const idx = thin(l.ys, MAX_POINTS);
    const pts = idx.map((i) => `${r1(sx(l.xs[i]!))},${r1(sy(l.ys[i]!))}`).join(' ');
    if (l.fill) {
      const base = r1(sy(Math.max(y0, Math.min(y1, 0))));
      const first = idx[0]!;
      const last = idx[idx.length - 1]!;
      svg += `<polygon points="${r1(sx(l.xs[first]!))},${base} ${pts} ${r1(sx(l.xs[last]!))},${base}" fill="${l.color}" fill-opacity="0.25" stroke="none"/>`;
    }
    svg += `<polyline points="${pts}" fill="none" stroke="${l.color}" stroke-width="1.3"/>`;
  }
  for (const m of markers) {
    const x = r1(sx(m.x));
    const y = r1(sy(m.y));
    const shape = m.kind === 'entry' ? `${x},${y - 7} ${x - 5},${y + 3} ${x + 5},${y + 3}` : `${x},${y + 7} ${x - 5},${y - 3} ${x + 5},${y - 3}`;
    svg += `<polygon points="${shape}" class="${m.kind}"><title>${esc(m.title)}</title></polygon>`;
  }
  svg += '</svg>';
  const legend = lines.map((l) => `<span><i style="background:${l.color}"></i>${esc(l.label)}</span>`).join('');
  return `<h2>${esc(title)}</h2><div class="legend">${legend}${markers.length > 0 ? '<span><b class="entry">▲</b> entry</span><span><b class="exit">▼</b> exit</span>' : ''}</div>${svg}`;
}

function metricsTable(s: BacktestSummary): string {
  const rows = SUMMARY_FIELDS.filter((k) => k !== 'rejectionsByCheck').map((k) => {
    const v = s[k];
    const text = v === null ? '—' : typeof v === 'number' ? fmtNum(v) : Array.isArray(v) ? v.join(', ') : String(v);
    return `<tr><th>${esc(k)}</th><td>${esc(text)}</td></tr>`;
  });
  return `<h2>Metrics</h2><table class="metrics">${rows.join('')}</table>`;
}

function rejectionsTable(s: BacktestSummary): string {
  const entries = Object.entries(s.rejectionsByCheck) as [string, number][];
  if (entries.length === 0) return '<h2>Rejections by check</h2><p>No proposed trade was rejected by the risk gate.</p>';
  const max = Math.max(...entries.map(([, n]) => n));
  const rows = entries
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([c, n]) => `<tr><th>${esc(c)}</th><td class="num">${n}</td><td><div class="bar" style="width:${Math.max(1, Math.round((n / max) * 400))}px"></div></td></tr>`);
  return `<h2>Rejections by check</h2><p>${s.riskRejected} rejected decisions (a decision counts once per failed check; pending approvals count under approvalThreshold).</p><table class="rej">${rows.join('')}</table>`;
}

export function renderHtmlReport(input: HtmlReportInput): string {
  const { summary: s, curve, trades } = input;
  const ts = curve.ts;
  const parts: string[] = [];
  parts.push(
    chart('Equity against buy-and-hold', [
      { xs: ts, ys: curve.equity, color: '#1f6feb', label: 'strategy equity' },
      { xs: ts, ys: input.buyAndHold, color: '#9a6700', label: 'buy-and-hold (equal weight, no costs)' },
    ]),
  );
  const negDd = Float64Array.from(curve.drawdownPct, (d) => -d);
  parts.push(chart('Drawdown (%)', [{ xs: ts, ys: negDd, color: '#cf222e', label: 'drawdown from peak', fill: true }], [], (y) => `${fmtNum(Math.round(y * 100) / 100)}%`));
  for (const ser of input.series) {
    const bars = ser.bars;
    const xs = new Float64Array(bars.length);
    const ys = new Float64Array(bars.length);
    const tfClose = bars.length > 1 ? bars[1]!.ts - bars[0]!.ts : 0;
    for (let i = 0; i < bars.length; i++) {
      xs[i] = bars[i]!.ts + tfClose;
      ys[i] = bars[i]!.close;
    }
    const mine = trades.filter((t) => t.symbol === ser.symbol);
    const step = Math.max(1, Math.ceil(mine.length / MAX_MARKERS));
    const markers: Marker[] = [];
    for (let j = 0; j < mine.length; j += step) {
      const t = mine[j]!;
      markers.push({ x: t.entryTime, y: t.entryPrice, kind: 'entry', title: `${t.side} entry ${fmtNum(t.entryPrice)} × ${fmtNum(t.quantity)}` });
      markers.push({ x: t.exitTime, y: t.exitPrice, kind: 'exit', title: `exit (${t.exitReason}) ${fmtNum(t.exitPrice)}, P&L ${fmtNum(t.pnl)}` });
    }
    const note = step > 1 ? ` (every ${step}th of ${mine.length} trades marked)` : '';
    parts.push(chart(`${ser.symbol} close with entries and exits${note}`, [{ xs, ys, color: '#57606a', label: `${ser.symbol} close` }], markers));
  }
  parts.push(metricsTable(s));
  parts.push(rejectionsTable(s));
  const title = `Backtest ${s.symbols.join(', ')} ${s.timeframe}, ${s.from} → ${s.to}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1f2328;padding:0 12px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.grid{stroke:#d0d7de;stroke-width:0.6}.ylab{font-size:10px;text-anchor:end;fill:#57606a}.xlab{font-size:10px;text-anchor:middle;fill:#57606a}
.entry{fill:#1a7f37}.exit{fill:#cf222e}b.entry{color:#1a7f37;fill:none}b.exit{color:#cf222e}
.legend span{margin-right:16px;font-size:12px}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
table{border-collapse:collapse}th,td{padding:3px 10px;border-bottom:1px solid #eaeef2;text-align:left;font-weight:normal}
table.metrics th{color:#57606a}td.num{text-align:right}.bar{height:10px;background:#cf222e}
.summary{font-size:15px}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="summary">Final equity <b>${fmtNum(s.finalEquity)}</b> from ${fmtNum(s.startingCapital)} (${fmtNum(Math.round(s.totalReturnPct * 100) / 100)}%; buy-and-hold ${fmtNum(Math.round(s.buyAndHoldReturnPct * 100) / 100)}%), ${s.trades} trades, max drawdown ${fmtNum(Math.round(s.maxDrawdownPct * 100) / 100)}%. Config hash <code>${esc(s.configHash.slice(0, 16))}…</code>, seed ${s.seed}.</p>
${parts.join('\n')}
<p style="margin-top:32px;color:#57606a;font-size:12px">Orders decided at a bar's close fill at the next bar's open with slippage and fees; stops and targets are checked inside later bars (stop first when a bar touches both). Formulas: docs/backtest.md.</p>
</body></html>
`;
}
