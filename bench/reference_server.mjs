// The reference: a plain Node.js socket.io server speaking the same /live shape (state, an
// ack per contribution, an `updates` frame to the room per contribution), no database.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
// The snapshot stream our server sends a joiner (bench/live_room.py --history), sent alike.
const stream = process.argv[3] ? JSON.parse(readFileSync(process.argv[3], "utf8")) : [];
const http = createServer();
const io = new Server(http, { transports: ["websocket"] });
const live = io.of("/live");
let seq = 0;
live.on("connection", (socket) => {
  socket.join("room");
  socket.emit("state", { seq, public_seq: seq, role: "guest", snapshot: { stream } });
  socket.on("contribute", (payload, ack) => {
    seq += 1;
    const contribution = { id: seq, client_id: payload.client_id, text: payload.text, status: "approved" };
    ack({ ok: true, id: seq, status: "approved", contribution });
    live.to("room").emit("updates", [{ seq, prev: seq - 1, chain: "public", kind: "contribution", data: { contribution } }]);
  });
});
http.listen(port, "127.0.0.1", () => console.log(`reference on ${port}`));
