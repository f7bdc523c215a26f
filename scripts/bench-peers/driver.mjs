// Load driver for scripts/bench-peers.sh: N concurrent callers each appending one ~500-byte event
// to a new stream, for a fixed duration, through a peer event store on PostgreSQL. Prints one JSON
// line: {"peer", "callers", "appends", "seconds", "appends_per_sec", "p50_ms", "p99_ms", "errors"}.
//
//   node driver.mjs <message-db|emmett> <postgres-url> <callers> <seconds>
import { randomUUID } from 'node:crypto';
import pg from 'pg';

const [peer, url, callersArg, secondsArg] = process.argv.slice(2);
const callers = Number(callersArg);
const seconds = Number(secondsArg);
if (!['message-db', 'emmett'].includes(peer) || !url || !(callers > 0) || !(seconds > 0)) {
  console.error('usage: node driver.mjs <message-db|emmett> <postgres-url> <callers> <seconds>');
  process.exit(2);
}

// About 500 bytes of JSON, like a registration: a few names and codes and a note.
const event = (i) => ({
  clientId: randomUUID(),
  givenName: 'Alexandra',
  familyName: 'Montgomery-Fitzgerald',
  birthDate: '1984-07-19',
  sex: 'female',
  address: { line: '1427 Evergreen Terrace, Apartment 12B', city: 'Springfield', postcode: 'SP1 4QX' },
  phone: '+44 20 7946 0958',
  referral: { source: 'general-practitioner', reference: `REF-${i.toString().padStart(8, '0')}` },
  note: 'Self-referred after a six-week waiting list; prefers morning appointments; no known allergies.',
  consent: { treatment: true, research: false, recordedBy: 'reception' },
});

// The callers share at most PEER_CONNECTIONS connections (default 32): the server's 100 are shared
// with the other systems of the run (and anything else on the machine).
const pool = new pg.Pool({ connectionString: url, max: Math.min(callers, Number(process.env.PEER_CONNECTIONS ?? 32)) });
let append;
if (peer === 'message-db') {
  append = async (i) => {
    await pool.query('SELECT message_store.write_message($1, $2, $3, $4, $5, $6)', [
      randomUUID(), `client-${randomUUID()}`, 'Registered', JSON.stringify(event(i)), null, -1,
    ]);
  };
} else {
  const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql');
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true, pool } });
  // Creates the schema on first use: do it before the clock starts.
  await store.appendToStream(`client-${randomUUID()}`, [{ type: 'Registered', data: event(0) }]);
  append = async (i) => {
    await store.appendToStream(`client-${randomUUID()}`, [{ type: 'Registered', data: event(i) }], {
      expectedStreamVersion: 'STREAM_DOES_NOT_EXIST',
    });
  };
}

// Warm the pool's connections before the clock starts.
await Promise.all(Array.from({ length: callers }, (_, i) => append(i)));

const latencies = [];
let errors = 0;
const started = process.hrtime.bigint();
const deadline = started + BigInt(seconds * 1e9);
await Promise.all(
  Array.from({ length: callers }, async (_, caller) => {
    for (let i = caller; process.hrtime.bigint() < deadline; i += callers) {
      const t = process.hrtime.bigint();
      try {
        await append(i);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      } catch (error) {
        if (errors++ === 0) console.error(`${peer}: ${error.message}`);
      }
    }
  }),
);
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const at = (q) => (latencies.length ? latencies[Math.max(0, Math.ceil(latencies.length * q) - 1)] : 0);
const round = (x) => Math.round(x * 100) / 100;
console.log(JSON.stringify({
  peer, callers, appends: latencies.length, seconds: round(elapsed),
  appends_per_sec: round(latencies.length / elapsed), p50_ms: round(at(0.5)), p99_ms: round(at(0.99)), errors,
}));
await pool.end();
process.exit(0);
