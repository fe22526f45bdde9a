// The room store the three live pages share (static/js/live-common.js), under Node's test
// runner: the gap rule of docs/live-protocol.md section 4. Driven by tests/test_live_store.py.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

const source = readFileSync(new URL("../../static/js/live-common.js", import.meta.url), "utf8");

// Timers the test fires by hand, so "waits briefly" is a step, not a sleep.
function manualTimers() {
  const waiting = new Map();
  let next = 1;
  return {
    setTimeout(fn, ms) {
      waiting.set(next, { fn, ms });
      return next++;
    },
    clearTimeout(id) {
      waiting.delete(id);
    },
    pending() {
      return [...waiting.values()];
    },
    fireAll() {
      const due = [...waiting.values()];
      waiting.clear();
      due.forEach((timer) => timer.fn());
    },
  };
}

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
  };
}

// Objects made inside the script's own realm compare by value once they are plain JSON.
const plain = (value) => JSON.parse(JSON.stringify(value));

function load() {
  const window = {};
  // The page language is all the script reads from the document when it loads.
  vm.runInNewContext(source, { window, document: { documentElement: { lang: "en-GB" } } });
  return window.LeroLive;
}

// A store attached to a page that records what it applied and the catch_ups it asked for.
function room(role, options = {}) {
  const L = load();
  const timers = manualTimers();
  const store = new L.RoomStore("the-event", role, { storage: null, timers, ...options });
  const page = { applied: [], live: [], snapshots: 0, asked: [], answers: [] };
  store.attach({
    applyState: () => {},
    applyUpdate: (update, live) => {
      page.applied.push(update.seq);
      page.live.push(live);
    },
    applySnapshot: () => {
      page.snapshots += 1;
    },
    catchUp: (cursors, done) => {
      page.asked.push(cursors);
      page.answers.push(done);
    },
  });
  return { store, page, timers, L };
}

const state = (seq, extra = {}) => ({ seq, public_seq: seq, own_seq: 0, updates: [], ...extra });
const pub = (seq, prev) => ({ seq, prev, chain: "public", kind: "prompt", data: {} });
const own = (seq, prev) => ({ seq, prev, chain: "own", kind: "contribution", data: {} });

test("updates in order are applied at once, repeats are ignored", () => {
  const { store, page } = room("participant");
  store.receiveState(state(4, { public_seq: 3, own_seq: 4 }));
  store.receiveUpdates([pub(5, 3), own(6, 4)]);
  store.receiveUpdates([pub(5, 3), own(6, 4), pub(7, 5)]);
  assert.deepEqual(page.applied, [5, 6, 7]);
  assert.deepEqual(plain(store.cursors()), { last_seq: 7, own_seq: 6 });
});

test("an update meant for someone else is not a gap: the chains are separate", () => {
  const { store, page, timers } = room("participant");
  store.receiveState(state(10));
  // seq 11 and 12 went to another author and the hosts; 13 names 10 as its public predecessor.
  store.receiveUpdates([pub(13, 10)]);
  assert.deepEqual(page.applied, [13]);
  assert.equal(timers.pending().length, 0, "no wait, no catch_up");
});

test("an update that overtook another waits for it, then both apply in order", () => {
  const { store, page, timers } = room("viewer");
  store.receiveState(state(2));
  store.receiveUpdates([pub(4, 3)]);
  assert.deepEqual(page.applied, []);
  assert.equal(timers.pending().length, 1, "a short wait starts");
  store.receiveUpdates([pub(3, 2)]);
  assert.deepEqual(page.applied, [3, 4]);
  assert.equal(timers.pending().length, 0, "the gap closed, so no catch_up");
  assert.equal(page.asked.length, 0);
});

test("a gap still open after the wait asks catch_up and applies its answer", () => {
  const { store, page, timers } = room("participant");
  store.receiveState(state(3, { public_seq: 3, own_seq: 1 }));
  store.receiveUpdates([pub(6, 5)]);
  timers.fireAll();
  assert.deepEqual(plain(page.asked), [{ last_seq: 3, own_seq: 1 }]);
  const answer = {
    ok: true,
    seq: 6,
    public_seq: 6,
    own_seq: 4,
    updates: [
      { seq: 4, chain: "own", kind: "contribution", data: {} },
      { seq: 5, chain: "public", kind: "prompt", data: {} },
      { seq: 6, chain: "public", kind: "prompt", data: {} },
    ],
  };
  page.answers[0](answer);
  assert.deepEqual(page.applied, [4, 5, 6], "nothing twice, nothing lost");
  store.receiveUpdates([pub(7, 6)]);
  assert.deepEqual(page.applied, [4, 5, 6, 7]);
  assert.deepEqual(plain(store.cursors()), { last_seq: 7, own_seq: 4 });
});

test("a failed catch_up is tried again after another wait", () => {
  const { store, page, timers } = room("viewer");
  store.receiveState(state(1));
  store.receiveUpdates([pub(3, 2)]);
  timers.fireAll();
  page.answers[0](null);
  assert.equal(timers.pending().length, 1);
  timers.fireAll();
  assert.equal(page.asked.length, 2);
});

test("hosts follow the room's own seq, every update in turn", () => {
  const { store, page, timers } = room("host");
  store.receiveState({ seq: 5, updates: [] });
  store.receiveUpdates([pub(6, 2), pub(8, 6)]);
  assert.deepEqual(page.applied, [6]);
  assert.equal(timers.pending().length, 1, "7 is missing for a host even if 8 is public");
  store.receiveUpdates([own(7, 0)]);
  assert.deepEqual(page.applied, [6, 7, 8]);
  assert.deepEqual(plain(store.cursors()), { last_seq: 8, support_seq: 0 });
});

const care = (seq, prev) => ({ seq, prev, chain: "wellbeing", kind: "support", data: {} });

test("wellbeing hosts follow their own chain beside the room's seq", () => {
  const { store, page, timers } = room("host");
  store.receiveState({
    seq: 5, updates: [], wellbeing: true, support_seq: 2,
    support_updates: [{ seq: 1, chain: "wellbeing", data: {} }, { seq: 2, chain: "wellbeing", data: {} }],
  });
  assert.deepEqual(page.applied, [1, 2]);
  // Support 3 and room 6 arrive together: neither numbering waits for the other.
  store.receiveUpdates([care(3, 2), pub(6, 0)]);
  assert.deepEqual(page.applied, [1, 2, 3, 6]);
  assert.deepEqual(plain(store.cursors()), { last_seq: 6, support_seq: 3 });
  // Support 5 overtook 4: held, then a catch_up asks from support_seq 3.
  store.receiveUpdates([care(5, 4)]);
  assert.deepEqual(page.applied, [1, 2, 3, 6]);
  timers.fireAll();
  assert.deepEqual(plain(page.asked), [{ last_seq: 6, support_seq: 3 }]);
  store.receiveUpdates([care(4, 3), care(3, 2)]);
  assert.deepEqual(page.applied, [1, 2, 3, 6, 4, 5], "3 again is old; 4 then 5");
  // A state that says the host is no longer a wellbeing host starts that chain afresh.
  store.receiveState({ seq: 6, updates: [], wellbeing: false });
  assert.deepEqual(plain(store.cursors()), { last_seq: 6, support_seq: 0 });
  // A wellbeing chain behind what we hold (a restored database) resets the store.
  const other = room("host");
  other.store.receiveState({ seq: 1, updates: [], wellbeing: true, support_seq: 4, support_updates: [] });
  assert.equal(other.store.receiveState({ seq: 1, wellbeing: true, support_seq: 2 }), false);
});

test("updates before the state are held, and the tail and the state decide", () => {
  const { store, page } = room("participant");
  store.receiveUpdates([pub(5, 4), pub(9, 5)]);
  assert.deepEqual(page.applied, []);
  store.receiveState(state(8, { public_seq: 5, updates: [{ seq: 5, chain: "public", data: {} }] }));
  assert.deepEqual(page.applied, [5, 9]);
  assert.deepEqual(page.live, [false, true]);
});

test("a snapshot empties the data, a room behind what we hold resets us", () => {
  const { store, page } = room("participant");
  store.receiveState(state(3));
  store.data.kept = true;
  store.receiveState(state(9, { snapshot: { stream: [] } }));
  assert.equal(page.snapshots, 1);
  assert.equal(store.data.kept, undefined);
  assert.equal(store.receiveState(state(2)), false, "the room's history was replaced");
  assert.deepEqual(plain(store.cursors()), { last_seq: 0, own_seq: 0 });
});

test("cursors and data survive a reload through storage", () => {
  const storage = memoryStorage();
  const first = room("participant", { storage });
  first.store.receiveState(state(4, { own_seq: 2 }));
  first.store.data.prompt = { id: 1, text: "Still here?" };
  first.store.receiveUpdates([pub(5, 4)]);
  const again = room("participant", { storage });
  assert.deepEqual(plain(again.store.cursors()), { last_seq: 5, own_seq: 2 });
  assert.deepEqual(plain(again.store.data.prompt), { id: 1, text: "Still here?" });
});

test("a snapshot becomes the pages' data, newest first and below later updates", () => {
  const { L } = room("participant");
  const data = {};
  L.snapshotInto(data, {
    stream: [{ phrase: { id: 2, text: "b" } }, { contribution: { id: 7, text: "a" } }],
  });
  assert.deepEqual(plain(Object.keys(data.contributions)), ["7"]);
  assert.deepEqual(plain(data.shown), { p2: -1, c7: -2 });
});

test("pages show approved contributions, never hidden or taken-down ones", () => {
  const { L } = room("viewer");
  assert.equal(L.isShown({ id: 1, status: "approved", hidden: false }), true);
  assert.equal(L.isShown({ id: 2, status: "approved", hidden: true }), false, "kept to the room");
  assert.equal(L.isShown({ id: 3, status: "taken_down", hidden: false }), false);
  assert.equal(L.isShown({ id: 4, status: "pending" }), false);
  assert.deepEqual(plain(Object.keys(L.SHARING)), ["anonymous", "named", "room"]);
});

test("a phrase update is an upsert by id: corrected in place, dropped once withdrawn", () => {
  const { L } = room("viewer");
  const data = {};
  L.snapshotInto(data, { stream: [{ phrase: { id: 2, text: "Jamie said so" } }] });
  assert.equal(L.receivePhrase(data, { id: 2, text: "They said so", withdrawn: false }, 9), false);
  assert.equal(data.phrases[2].text, "They said so");
  assert.equal(data.shown.p2, -1, "a correction keeps the phrase's place");
  assert.equal(L.receivePhrase(data, { id: 3, text: "New", withdrawn: false }, 10), true);
  assert.equal(data.shown.p3, 10);
  L.receivePhrase(data, { id: 2, text: "", withdrawn: true }, 11);
  assert.deepEqual(plain(Object.keys(data.phrases)), ["3"]);
  assert.equal(data.shown.p2, undefined);
});

test("the author's own reflections: upserted, text kept when a view has none, dropped once taken down", () => {
  const { L } = room("participant");
  const own = {};
  L.receiveOwn(own, { id: 5, status: "pending", text: "Mine", author: "Gil", hidden: false });
  L.receiveOwn(own, { id: 5, status: "approved", text: "Mine", author: "Gil", hidden: false });
  assert.equal(own[5].status, "approved", "approved by a host: shared");
  // Taken out of the room by a host, or harvest-shaped after the session: no text in the view.
  L.receiveOwn(own, { id: 5, status: "withdrawn", text: "", author: "", hidden: false });
  assert.deepEqual(plain(own[5]), { id: 5, status: "withdrawn", text: "Mine", author: "Gil", hidden: false });
  L.receiveOwn(own, { id: 5, status: "approved", text: "", author: "", hidden: true });
  assert.equal(own[5].text, "Mine");
  assert.equal(own[5].hidden, false, "the author still sees their own");
  L.receiveOwn(own, { id: 6, status: "approved", text: "Other", author: "Gil", hidden: false });
  L.receiveOwn(own, { id: 5, status: "taken_down", text: "", author: "" });
  assert.deepEqual(plain(Object.keys(own)), ["6"]);
});

test("held buttons refuse a second press until released, without losing focus", () => {
  const { L } = room("host");
  const attributes = {};
  const button = {
    getAttribute: (name) => (name in attributes ? attributes[name] : null),
    setAttribute: (name, value) => { attributes[name] = value; },
    removeAttribute: (name) => { delete attributes[name]; },
  };
  assert.equal(L.holdButtons([button]), true);
  assert.equal(button.getAttribute("aria-disabled"), "true");
  assert.equal(L.holdButtons([button]), false, "a second press while waiting does nothing");
  L.releaseButtons([button]);
  assert.equal(L.holdButtons([button]), true);
  assert.equal(button.disabled, undefined, "never disabled: that drops keyboard focus");
});

test("the message queue back: after the wait it asks catch_up and applies its answer", () => {
  const { store, page, timers } = room("participant");
  store.receiveState(state(5));
  store.deliveryRestored(1500);
  assert.equal(page.asked.length, 0, "not before the wait");
  assert.deepEqual(timers.pending().map((timer) => timer.ms), [1500]);
  timers.fireAll();
  assert.deepEqual(plain(page.asked), [{ last_seq: 5, own_seq: 0 }]);
  page.answers[0](state(8, { updates: [pub(7, 5), pub(8, 7)] }));
  assert.deepEqual(page.applied, [7, 8]);
  assert.equal(store.cursors().last_seq, 8);
});
