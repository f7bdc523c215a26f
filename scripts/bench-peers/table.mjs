// The table of scripts/bench-peers.sh: for each concurrency and system, the range of appends/s over
// the rounds and, in brackets, the range of its ratios to the raw INSERTs of the same round.
// stdin: lines "round,callers,column value".   node table.mjs <rounds> "<callers…>" "<columns…>"
import { readFileSync } from 'node:fs';

const [rounds, callersList, columnList] = process.argv.slice(2);
const result = {};
for (const line of readFileSync(0, 'utf8').trim().split('\n')) {
  const [key, value] = line.split(' ');
  result[key] = Number(value);
}
const columns = columnList.split(' ');
const names = {
  raw: 'raw INSERT (pgbench)',
  'message-db': 'Message DB `write_message`',
  emmett: 'Emmett `appendToStream` (PostgreSQL)',
  'carelog-pg': 'Carelog over gRPC, PostgreSQL',
  'carelog-sqlite': 'Carelog over gRPC, SQLite',
  'grpc-floor': 'gRPC health check (no handler, no store)',
};
const thousands = (x) => Math.round(x).toLocaleString('en-US');
const ratio = (x) => x.toFixed(2);
const range = (xs, f) => {
  const [lo, hi] = [f(Math.min(...xs)), f(Math.max(...xs))];
  return lo === hi ? lo : `${lo}–${hi}`;
};
console.log(`| callers | ${columns.map((c) => names[c] ?? c).join(' | ')} |`);
console.log(`|---|${columns.map(() => '---').join('|')}|`);
for (const n of callersList.trim().split(/\s+/)) {
  const cells = columns.map((column) => {
    const values = [];
    const ratios = [];
    for (let round = 1; round <= Number(rounds); round++) {
      const value = result[`${round},${n},${column}`] ?? 0;
      values.push(value);
      ratios.push(value / Math.max(result[`${round},${n},raw`] ?? 0, 1e-9));
    }
    return column === 'raw' ? range(values, thousands) : `${range(values, thousands)} (${range(ratios, ratio)})`;
  });
  console.log(`| ${n} | ${cells.join(' | ')} |`);
}
