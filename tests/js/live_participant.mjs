// A live-room participant written with the official Node socket.io-client, driven by
// tests/test_live_node.py: join with the auth given as JSON, contribute, wait until a host
// approves it, resend it with the same client_id, and print what happened as JSON lines.
import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const [url, authJson] = process.argv.slice(2);
const print = (kind, data) => console.log(JSON.stringify({ kind, data }));
const socket = io(`${url}/live`, {
  auth: JSON.parse(authJson),
  transports: ["websocket"],
  reconnection: false,
});
const fail = (why) => {
  print("failure", String(why));
  process.exit(1);
};
setTimeout(() => fail("timed out"), 20000).unref();
socket.on("connect_error", (error) => fail(error.message));

const state = await new Promise((resolve) => socket.once("state", resolve));
print("state", state);
const approved = new Promise((resolve) => {
  socket.on("updates", (frame) => {
    for (const update of frame) {
      const contribution = update.data.contribution;
      if (contribution && contribution.status === "approved") resolve(update);
    }
  });
});
const contribution = {
  client_id: randomUUID(),
  text: "Written from Node",
  prompt_id: null,
  anonymous: true,
};
print("ack", await socket.timeout(10000).emitWithAck("contribute", contribution));
print("approved", await approved);
print("resend", await socket.timeout(10000).emitWithAck("contribute", contribution));
const blank = { ...contribution, client_id: randomUUID(), text: "  " };
print("refused", await socket.timeout(10000).emitWithAck("contribute", blank));
socket.disconnect();
