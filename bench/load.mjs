// The live-room load generator bench/live_room.py drives: N socket.io-client participants join
// one room, then posters send contributions at rising rates; every receiver measures the
// delay from send to arrival (one process, one clock). Prints one JSON object.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

const config = JSON.parse(process.argv[2]);
const urls = config.urls;
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const clients = [];
let disconnects = 0;
const arrivals = new Map(); // text -> [latency ms...]
const sentAt = new Map();

function join(n) {
  return new Promise((resolve, reject) => {
    const socket = io(`${urls[n % urls.length]}/live`, {
      transports: ["websocket"],
      reconnection: false,
      auth: { slug: config.slug, guest_name: `Bench ${n}`, guest_key: `bench-key-${n}-${config.run}-xxxxxx`, last_seq: 0 },
    });
    const timer = setTimeout(() => reject(new Error("join timed out")), 60000);
    socket.once("state", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.on("connect_error", (error) => reject(error));
    socket.on("disconnect", () => { disconnects += 1; });
    socket.on("updates", (frame) => {
      const at = now();
      for (const update of frame) {
        const text = update.data && update.data.contribution && update.data.contribution.text;
        if (text && sentAt.has(text)) arrivals.get(text).push(at - sentAt.get(text));
      }
    });
  });
}

// The machine's CPU ticks, busy and all, from /proc/stat (Linux), to tell a saturated machine
// from a slow server.
function machineTicks() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] || 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

// CPU seconds the server's processes have used (utime + stime in /proc/PID/stat, in 1/100 s).
function serverSeconds() {
  return config.server_pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + (Number(fields[11]) + Number(fields[12])) / 100;
  }, 0);
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

const started = now();
for (let i = 0; i < config.clients; i += 50) {
  const batch = [];
  for (let n = i; n < Math.min(config.clients, i + 50); n += 1) batch.push(join(n));
  clients.push(...(await Promise.all(batch)));
}
const result = { join_seconds: (now() - started) / 1000, rates: [] };

// Idle acknowledged contribution: one at a time, nothing else going on. The next is sent
// only once every participant has the last one: the load generator is one process reading
// 1,000 sockets, and an ack read behind its own backlog of frames is not the server's time.
const idle = [];
for (let k = 0; k < 100; k += 1) {
  const text = `idle ${k} ${randomUUID()}`;
  arrivals.set(text, []);
  sentAt.set(text, now());
  const t0 = now();
  await clients[0].timeout(10000).emitWithAck("contribute", { client_id: randomUUID(), text, prompt_id: null });
  idle.push(now() - t0);
  const waitUntil = now() + 5000;
  while (arrivals.get(text).length < clients.length && now() < waitUntil) await sleep(5);
  await sleep(20);
}
idle.sort((a, b) => a - b);
result.idle_ack_p50_ms = quantile(idle, 0.5);
await sleep(500);

const posters = clients.slice(0, Math.min(clients.length, 100));
for (const rate of config.rates) {
  arrivals.clear();
  sentAt.clear();
  const total = Math.round(rate * config.seconds);
  const acks = [];
  const t0 = now();
  const ticks0 = machineTicks();
  const server0 = serverSeconds();
  const cpu0 = process.cpuUsage();
  let failures = 0;
  for (let k = 0; k < total; k += 1) {
    const due = t0 + (k * 1000) / rate;
    if (due > now()) await sleep(due - now());
    const text = `r${rate} n${k} ${randomUUID()}`;
    arrivals.set(text, []);
    sentAt.set(text, now());
    const sent = now();
    posters[k % posters.length].timeout(15000).emitWithAck("contribute", { client_id: randomUUID(), text, prompt_id: null })
      .then((ack) => { if (!ack.ok) failures += 1; acks.push(now() - sent); })
      .catch(() => { failures += 1; });
  }
  await sleep(config.drain * 1000);
  const ticks = machineTicks();
  const server = serverSeconds() - server0;
  const cpu = process.cpuUsage(cpu0);
  const wall = now() - t0;
  const latencies = [...arrivals.values()].flat().sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const expected = total * clients.length;
  result.rates.push({
    rate,
    sent: total,
    failures,
    delivered_fraction: latencies.length / expected,
    p50_ms: quantile(latencies, 0.5),
    p99_ms: quantile(latencies, 0.99),
    max_ms: latencies.length ? latencies[latencies.length - 1] : null,
    ack_p50_ms: quantile(acks, 0.5),
    deliveries_per_second: latencies.length / config.seconds,
    disconnects,
    machine_busy: (ticks.busy - ticks0.busy) / (ticks.total - ticks0.total),
    load_generator_cores: (cpu.user + cpu.system) / 1000 / wall,
    server_cores: (server * 1000) / wall,
    server_seconds: server,
  });
}
clients.forEach((socket) => socket.disconnect());
console.log(JSON.stringify(result));
process.exit(0);
