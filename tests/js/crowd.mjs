// A crowd for the live-room tests: open COUNT guest connections to one room with the official
// Node socket.io-client, print "ready" once every one has its `state`, then stay until killed.
// The test kills this process with SIGKILL, so every connection drops at the same moment.
import { io } from "socket.io-client";

const [url, slug, count] = process.argv.slice(2);
const total = Number(count);
let ready = 0;
const fail = (why) => {
  console.log(JSON.stringify({ failure: String(why) }));
  process.exit(1);
};
setTimeout(() => fail(`only ${ready} of ${total} joined in time`), 60000).unref();
for (let n = 0; n < total; n += 1) {
  const socket = io(`${url}/live`, {
    auth: { slug, guest_name: `Crowd ${n}`, guest_key: `crowd-member-${String(n).padStart(6, "0")}` },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
  });
  socket.on("connect_error", (error) => fail(error.message));
  socket.once("state", () => {
    ready += 1;
    if (ready === total) console.log("ready");
  });
}
setInterval(() => {}, 1000);
