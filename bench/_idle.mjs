import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";
const [url, slug, n, pause] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5] || 5)];
const socket = io(`${url}/live`, { transports: ["websocket"], auth: { slug, guest_name: "P", guest_key: `prof-key-${randomUUID()}` } });
await new Promise((r) => socket.once("state", r));
const t = [];
for (let k = 0; k < n; k++) {
  const t0 = performance.now();
  await socket.emitWithAck("contribute", { client_id: randomUUID(), text: `idle ${k}`, prompt_id: null });
  t.push(performance.now() - t0);
  if (pause) await new Promise((r) => setTimeout(r, pause));
}
t.sort((a, b) => a - b);
console.log([0.1,0.25,0.5,0.75,0.9,0.99].map((q) => t[Math.floor(q * n)].toFixed(1)).join(" "));
process.exit(0);
