// Shared by the live room's pages (participant live.js, host host.js, harvest-live.js): the
// room store that keeps updates in order by the gap rule, the Socket.IO connection with its
// visible state, the outbox that keeps unsent reflections in localStorage, and small DOM
// helpers. The protocol is documented in docs/live-protocol.md; tests/js/room_store.test.mjs
// tests the store under Node.
(function () {
  "use strict";

  // Build an element: h("li", {className: "x", dataset: {id: 3}}, ["text", otherNode]).
  // Text always goes in as text nodes, never as HTML.
  function h(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) {
        return;
      }
      if (key === "dataset") {
        Object.keys(value).forEach(function (name) { node.dataset[name] = value[name]; });
      } else if (key === "className" || key === "textContent" || key === "hidden" ||
                 key === "type" || key === "value" || key === "disabled") {
        node[key] = value;
      } else if (key.indexOf("on") === 0) {
        node.addEventListener(key.slice(2), value);
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) {
        return;
      }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // Browsers with storage switched off (private modes, full quota) still get a working room,
  // only without surviving a reload.
  function storageGet(storage, key, fallback) {
    try {
      var raw = storage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (error) {
      return fallback;
    }
  }

  function storageSet(storage, key, value) {
    try {
      storage.setItem(key, JSON.stringify(value));
    } catch (error) {
      // Nothing to do: the in-memory copy still works for this page's life.
    }
  }

  function sessionStore() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null;
    }
  }

  // The room as this page knows it, shared by the participant, host and harvest pages: the
  // cursors, the page's own data built from the updates, and the gap rule of
  // docs/live-protocol.md section 4. Hosts follow the room's seq (they see every update);
  // everyone else follows the public chain and, for participants and guests, their own chain,
  // where each update names the previous one (`prev`). Wellbeing hosts also follow the
  // wellbeing chain (section 13), numbered apart from the room's seq, by `prev` and its own
  // head `heads.wellbeing`. An update that does not follow yet is
  // held; if the gap is still open after `gapWait` ms, the store asks `catchUp` for what is
  // missing. The page supplies, through `attach`: applyState(state), applyUpdate(update, live)
  // and applySnapshot(snapshot) (after `data` was emptied), and catchUp(cursors, done) where
  // done(answer) is given a `state`-shaped answer or null. With `storage`, the cursors and
  // data survive a reload (sessionStorage on the live pages; none on the harvest page).
  function RoomStore(slug, role, options) {
    options = options || {};
    this.host = role === "host";
    this.key = "lero-live-room:" + role + ":" + slug;
    this.storage = options.storage === undefined ? sessionStore() : options.storage;
    this.timers = options.timers || window;
    this.gapWait = options.gapWait === undefined ? 1000 : options.gapWait;
    var saved = this.storage ? storageGet(this.storage, this.key, null) : null;
    var valid = saved && typeof saved.seq === "number" && saved.heads &&
      typeof saved.heads.public === "number" && typeof saved.heads.own === "number" &&
      saved.data && typeof saved.data === "object";
    var start = options.seq || 0;
    this.seq = valid ? saved.seq : start;
    this.heads = valid ? saved.heads : { public: start, own: 0, wellbeing: 0 };
    if (typeof this.heads.wellbeing !== "number") {
      this.heads.wellbeing = 0;
    }
    this.data = valid ? saved.data : {};
    this.ready = false;
    this.held = [];
    this.gapTimer = null;
    this.page = null;
  }

  RoomStore.prototype.attach = function (page) {
    this.page = page;
  };

  // What the connect `auth` and `catch_up` carry.
  RoomStore.prototype.cursors = function () {
    if (this.host) {
      return { last_seq: this.seq, support_seq: this.heads.wellbeing };
    }
    return { last_seq: this.heads.public, own_seq: this.heads.own };
  };

  RoomStore.prototype.save = function () {
    if (this.storage) {
      storageSet(this.storage, this.key, { seq: this.seq, heads: this.heads, data: this.data });
    }
  };

  RoomStore.prototype.reset = function () {
    this.seq = 0;
    this.heads = { public: 0, own: 0, wellbeing: 0 };
    this.data = {};
    this.held = [];
    this.save();
  };

  RoomStore.prototype.connectionLost = function () {
    this.ready = false;
    this.held = [];
    this.stopGapTimer();
  };

  RoomStore.prototype.headOf = function (update) {
    if (update.chain === "wellbeing") {
      return this.heads.wellbeing;
    }
    return this.host ? this.seq : this.heads[update.chain === "own" ? "own" : "public"];
  };

  // Already applied: nothing to do with it.
  RoomStore.prototype.isOld = function (update) {
    return update.seq <= this.headOf(update);
  };

  RoomStore.prototype.follows = function (update) {
    if (this.host && update.chain !== "wellbeing") {
      return update.seq === this.seq + 1;
    }
    return update.prev === this.headOf(update);
  };

  RoomStore.prototype.apply = function (update, live) {
    this.page.applyUpdate(update, live);
    if (update.chain === "wellbeing") {
      this.heads.wellbeing = update.seq;
    } else if (this.host) {
      this.seq = update.seq;
    } else {
      this.heads[update.chain === "own" ? "own" : "public"] = update.seq;
      this.seq = Math.max(this.seq, update.seq);
    }
  };

  // Returns false when the server's room is behind what we hold (its database was replaced):
  // the data is then dropped and the caller reconnects from zero.
  RoomStore.prototype.receiveState = function (state) {
    var self = this;
    var ours = this.host ? this.seq : Math.max(this.heads.public, this.heads.own);
    var wellbeingBehind = state && state.wellbeing === true &&
      (state.support_seq || 0) < this.heads.wellbeing;
    if (!state || typeof state.seq !== "number" || state.seq < ours || wellbeingBehind) {
      this.reset();
      return false;
    }
    if (state.snapshot) {
      this.data = {};
      this.page.applySnapshot(state.snapshot);
    }
    (state.updates || []).forEach(function (update) {
      if (!self.isOld(update)) {
        self.apply(update, false);
      }
    });
    (state.support_updates || []).forEach(function (update) {
      if (!self.isOld(update)) {
        self.apply(update, false);
      }
    });
    this.seq = state.seq;
    if (!this.host) {
      this.heads = { public: state.public_seq || 0, own: state.own_seq || 0, wellbeing: 0 };
    } else {
      // Not (or no longer) a wellbeing host: that chain starts again from nothing.
      this.heads.wellbeing = state.wellbeing ? state.support_seq || 0 : 0;
    }
    this.page.applyState(state);
    this.ready = true;
    this.release();
    this.save();
    return true;
  };

  // A frame from the server: a list of updates, oldest first (one update alone also works).
  RoomStore.prototype.receiveUpdates = function (frame) {
    var self = this;
    (Array.isArray(frame) ? frame : [frame]).forEach(function (update) {
      if (update && typeof update.seq === "number") {
        self.held.push(update);
      }
    });
    if (this.ready) {
      this.release();
      this.save();
    }
  };

  // Apply every held update that now follows its chain, in seq order; drop the old ones.
  RoomStore.prototype.release = function () {
    var progress = true;
    while (progress) {
      progress = false;
      this.held.sort(function (a, b) { return a.seq - b.seq; });
      var waiting = [];
      for (var i = 0; i < this.held.length; i += 1) {
        var update = this.held[i];
        if (this.isOld(update)) {
          continue;
        }
        if (this.follows(update)) {
          this.apply(update, true);
          progress = true;
        } else {
          waiting.push(update);
        }
      }
      this.held = waiting;
    }
    if (this.held.length) {
      this.startGapTimer();
    } else {
      this.stopGapTimer();
    }
  };

  RoomStore.prototype.startGapTimer = function () {
    var self = this;
    if (this.gapTimer !== null) {
      return;
    }
    this.gapTimer = this.timers.setTimeout(function () {
      self.gapTimer = null;
      if (!self.ready || !self.held.length) {
        return;
      }
      self.page.catchUp(self.cursors(), function (answer) {
        if (answer && self.ready) {
          self.receiveState(answer);
        } else if (self.ready) {
          self.startGapTimer();
        }
      });
    }, this.gapWait);
  };

  // The server says its message queue is back (docs/live-protocol.md 10.5): frames may have
  // been lost meanwhile with no later frame to show the gap, so ask catch_up after `wait` ms
  // (the caller picks a random 0-2 s, so a whole room does not ask at once).
  RoomStore.prototype.deliveryRestored = function (wait) {
    var self = this;
    this.timers.setTimeout(function () {
      if (!self.ready) {
        return;
      }
      self.page.catchUp(self.cursors(), function (answer) {
        if (answer && self.ready) {
          self.receiveState(answer);
        }
      });
    }, wait);
  };

  RoomStore.prototype.stopGapTimer = function () {
    if (this.gapTimer !== null) {
      this.timers.clearTimeout(this.gapTimer);
      this.gapTimer = null;
    }
  };

  // Whether a page shows a contribution: approved, and not `hidden` (a harvest-shaped view
  // of one its author kept to the room: docs/live-protocol.md section 16).
  function isShown(contribution) {
    return Boolean(contribution) && contribution.status === "approved" && !contribution.hidden;
  }

  // What the author chose for the published harvest, as they read it back.
  var SHARING = {
    anonymous: "In the harvest without your name",
    named: "In the harvest with your name",
    room: "Only in the room during the session",
  };

  // The live pages' data from a snapshot (newest first): contributions and phrases by id, and
  // their place in the stream, below anything that arrives later (whose place is its seq).
  function snapshotInto(data, snapshot) {
    data.contributions = {};
    data.phrases = {};
    data.shown = {};
    data.prompt = null;
    ((snapshot && snapshot.stream) || []).forEach(function (entry, index) {
      if (entry.contribution) {
        data.contributions[entry.contribution.id] = entry.contribution;
        data.shown["c" + entry.contribution.id] = -(index + 1);
      } else if (entry.phrase) {
        data.phrases[entry.phrase.id] = entry.phrase;
        data.shown["p" + entry.phrase.id] = -(index + 1);
      }
    });
  }

  // A `phrase` update is an upsert by id (docs/live-protocol.md section 9.4): shown or
  // replaced, or dropped once withdrawn. Returns true when the phrase is new to the page.
  function receivePhrase(data, phrase, seq) {
    var key = "p" + phrase.id;
    var isNew = !data.phrases[phrase.id];
    if (phrase.withdrawn) {
      delete data.phrases[phrase.id];
      delete data.shown[key];
      return false;
    }
    data.phrases[phrase.id] = phrase;
    data.shown[key] = data.shown[key] || seq;
    return isNew;
  }

  // The author's own reflections by id (`state.mine`, then every `contribution` update about
  // one of them: docs/live-protocol.md section 14): an upsert, dropped once taken down. A
  // view without text (taken out of the room by a host, or harvest-shaped after the session)
  // keeps the text and name the author already had: it is theirs to read and take down.
  function receiveOwn(own, contribution) {
    if (contribution.status === "taken_down") {
      delete own[contribution.id];
      return;
    }
    var before = own[contribution.id];
    var mine = Object.assign({}, before, contribution);
    if (before && !contribution.text) {
      mine.text = before.text;
      mine.author = before.author;
      mine.hidden = false;
    }
    own[contribution.id] = mine;
  }

  // Buttons waiting for the server's answer. They are marked aria-disabled rather than
  // disabled, because disabling the focused button drops keyboard focus to the top of the
  // page. Returns false (and does nothing) when one of them is already waiting.
  function holdButtons(buttons) {
    var list = Array.prototype.slice.call(buttons || []);
    if (list.some(function (button) { return button.getAttribute("aria-disabled") === "true"; })) {
      return false;
    }
    list.forEach(function (button) { button.setAttribute("aria-disabled", "true"); });
    return true;
  }

  function releaseButtons(buttons) {
    Array.prototype.forEach.call(buttons || [], function (button) {
      button.removeAttribute("aria-disabled");
    });
  }

  // Reflections typed but not yet acknowledged by the server, kept in localStorage per event
  // with their client_id so a resend after a reconnect or reload is recognised, never doubled.
  // It also remembers the ids of what this person sent, so their page can show each one's
  // sharing choice back to them wherever it appears.
  function Outbox(slug) {
    this.key = "lero-live-outbox:" + slug;
    this.items = storageGet(window.localStorage, this.key, []);
    if (!Array.isArray(this.items)) {
      this.items = [];
    }
    this.mineKey = "lero-live-mine:" + slug;
    this.mine = storageGet(window.localStorage, this.mineKey, {});
    if (!this.mine || typeof this.mine !== "object") {
      this.mine = {};
    }
  }

  Outbox.prototype.remember = function (contribution) {
    if (contribution && this.mine[contribution.id] !== contribution.sharing) {
      this.mine[contribution.id] = contribution.sharing;
      storageSet(window.localStorage, this.mineKey, this.mine);
    }
  };

  Outbox.prototype.save = function () {
    storageSet(window.localStorage, this.key, this.items);
  };

  Outbox.prototype.add = function (fields) {
    var item = {
      client_id: newClientId(),
      text: fields.text,
      anonymous: Boolean(fields.anonymous),
      sharing: SHARING[fields.sharing] ? fields.sharing : "anonymous",
      prompt_id: fields.prompt_id === undefined ? null : fields.prompt_id,
      error: null,
      created: Date.now(),
    };
    this.items.push(item);
    this.save();
    return item;
  };

  Outbox.prototype.find = function (clientId) {
    return this.items.filter(function (item) { return item.client_id === clientId; })[0] || null;
  };

  Outbox.prototype.update = function (clientId, changes) {
    var item = this.find(clientId);
    if (item) {
      Object.keys(changes).forEach(function (key) { item[key] = changes[key]; });
      this.save();
    }
    return item;
  };

  Outbox.prototype.remove = function (clientId) {
    this.items = this.items.filter(function (item) { return item.client_id !== clientId; });
    this.save();
  };

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; plain http on a LAN falls back to getRandomValues.
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // The connection line at the top of the page: never a silent stall.
  function ConnectionStatus(element, offlineText) {
    this.element = element;
    this.offlineText = offlineText;
  }

  ConnectionStatus.prototype.show = function (state, text) {
    this.element.className = "connection connection-" + state;
    this.element.textContent = text;
    this.element.dataset.state = state;
  };

  ConnectionStatus.prototype.connecting = function () { this.show("connecting", "Connecting…"); };
  ConnectionStatus.prototype.connected = function () { this.show("connected", "Connected"); };
  ConnectionStatus.prototype.reconnecting = function () {
    this.show("reconnecting", "Reconnecting…");
  };
  ConnectionStatus.prototype.delayed = function (message) {
    this.show("delayed", message || "Live updates are delayed. What you send is still saved.");
  };
  ConnectionStatus.prototype.offline = function () {
    this.show("offline", this.offlineText);
  };
  ConnectionStatus.prototype.refused = function (reason, retry) {
    this.show("refused", "Not connected: " + reason);
    if (retry) {
      this.element.appendChild(document.createTextNode(" "));
      this.element.appendChild(h("button", {
        type: "button", className: "link-button", onclick: retry,
      }, ["Try again"]));
    }
  };

  // A fresh live pass from `url` (docs/live-protocol.md section 11): done(pass) or, when the
  // server has none for this browser, done("", its reason). A network failure gives done(""):
  // the live room then refuses the empty pass and says to reload.
  function fetchLivePass(url, done) {
    window
      .fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.json().catch(function () { return {}; });
      })
      .then(function (answer) { done(answer.live_pass || "", answer.error); })
      .catch(function () { done(""); });
  }

  // Open the /live namespace and keep `store` up to date. `auth` is called on every
  // (re)connect, so each handshake carries the current cursors. `page` supplies:
  // identity(send, refuse), which calls send(auth fields), maybe later (after fetching a
  // pass), or refuse(reason) when there is no way in;
  // applyState(state), applyUpdate(update, live), applySnapshot(snapshot), presence(message),
  // connected() after every state, reset() when the cache was dropped, and optionally
  // mine(contribution) for one of the author's reflections sent from another tab.
  function openRoom(slug, store, status, page) {
    var socket = window.io("/live", {
      auth: function (send) {
        page.identity(function (auth) {
          // The cursors as they are when the handshake leaves, after any wait for a pass.
          var cursors = store.cursors();
          auth.slug = slug;
          Object.keys(cursors).forEach(function (name) { auth[name] = cursors[name]; });
          send(auth);
        }, function (reason) {
          socket.disconnect();
          sayRefused(reason);
        });
      },
      // WebSocket first, long-polling only when it cannot open: no polling-to-WebSocket
      // upgrade, whose interruption (a server dying, a phone changing network) could leave
      // the client believing it is still connected until the heartbeat times out.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 5000,
    });
    var failedAttempts = 0;
    var offlineTimer = null;

    // A reconnect attempt can hang (a server dying slowly, a captive portal) without failing:
    // after a few seconds say so plainly rather than "Reconnecting…" for ever.
    function sayOfflineSoon() {
      window.clearTimeout(offlineTimer);
      offlineTimer = window.setTimeout(function () {
        if (!socket.connected && status.element.dataset.state === "reconnecting") {
          status.offline();
        }
      }, 4000);
    }

    store.attach({
      applyState: page.applyState,
      applyUpdate: page.applyUpdate,
      applySnapshot: page.applySnapshot,
      catchUp: function (cursors, done) {
        if (!socket.connected) {
          done(null);
          return;
        }
        socket.timeout(10000).emit("catch_up", cursors, function (error, answer) {
          done(error || !answer || !answer.ok ? null : answer);
        });
      },
    });
    status.connecting();
    socket.on("connect", function () {
      failedAttempts = 0;
    });
    socket.on("state", function (state) {
      if (!store.receiveState(state)) {
        page.reset();
        socket.disconnect().connect();
        return;
      }
      status.connected();
      page.connected();
    });
    socket.on("updates", function (frame) {
      store.receiveUpdates(frame);
    });
    socket.on("presence", function (message) {
      page.presence(message);
    });
    socket.on("mine", function (message) {
      if (page.mine && message && message.contribution) {
        page.mine(message.contribution);
      }
    });
    socket.on("delivery", function (message) {
      if (message && message.live === false) {
        status.delayed(message.message);
      } else if (message && message.live === true) {
        if (status.element.dataset.state === "delayed") {
          status.connected();
        }
        store.deliveryRestored(Math.random() * 2000);
      }
    });
    socket.on("disconnect", function (reason) {
      // Not on "connect": the client hands over `state` (sent by the server's connect
      // handler) before it fires "connect".
      store.connectionLost();
      if (reason === "io client disconnect") {
        return;
      }
      if (navigator.onLine === false) {
        status.offline();
      } else {
        status.reconnecting();
        sayOfflineSoon();
      }
      if (page.disconnected) {
        page.disconnected();
      }
    });
    // Refused (a stale link, a closed event...): retrying would not help, so say why and let
    // the person try again themselves.
    function sayRefused(reason) {
      status.refused(reason || "the live room refused the connection.", function () {
        status.connecting();
        socket.connect();
      });
    }

    socket.on("connect_error", function (error) {
      if (!socket.active) {
        sayRefused(error.message);
        return;
      }
      failedAttempts += 1;
      if (failedAttempts >= 2 || navigator.onLine === false) {
        status.offline();
      } else {
        status.reconnecting();
      }
    });
    window.addEventListener("offline", function () {
      if (!socket.connected) {
        status.offline();
      }
    });
    window.addEventListener("online", function () {
      if (!socket.connected) {
        status.reconnecting();
        socket.connect();
      }
    });
    return socket;
  }

  // Put `nodes` into `list` in that order, moving only what must move, so a button that has
  // focus keeps it when other items arrive.
  function syncList(list, nodes) {
    var cursor = list.firstChild;
    nodes.forEach(function (node) {
      if (node === cursor) {
        cursor = cursor.nextSibling;
      } else {
        list.insertBefore(node, cursor);
      }
    });
    while (cursor) {
      var next = cursor.nextSibling;
      list.removeChild(cursor);
      cursor = next;
    }
  }

  var clock = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  function formatTime(iso) {
    var moment = new Date(iso);
    return isNaN(moment.getTime()) ? "" : clock.format(moment);
  }

  // The text and byline of a contribution or captured phrase, rebuilt in place inside `node`
  // (a stream item); the item's buttons are the page's business and are left alone.
  function fillItem(node, item, kind) {
    var body = node.querySelector(".item-body");
    if (!body) {
      body = h("div", { className: "item-body" });
      node.insertBefore(body, node.firstChild);
    }
    var badges = [];
    var byline;
    if (kind === "phrase") {
      badges.push(h("span", { className: "badge" }, ["Heard in the room"]));
      byline = item.attribution ? "Said by " + item.attribution : "Said in the room";
    } else {
      if (item.featured) {
        badges.push(h("span", { className: "badge" }, ["Featured"]));
      }
      if (item.sharing === "room") {
        // Its author keeps it out of the published harvest: hosts composing it need to know.
        badges.push(h("span", { className: "badge" }, ["Room only"]));
      }
      byline = item.author || "Anonymous";
    }
    var time = formatTime(item.created_at);
    body.replaceChildren(
      h("p", { className: "item-text" }, [item.text]),
      h("p", { className: "byline" }, badges.concat([
        byline,
        time ? " · " : null,
        time ? h("time", { datetime: item.created_at }, [time]) : null,
      ]))
    );
    node.classList.toggle("featured", Boolean(item.featured));
  }

  // One polite live region per page; setting new text makes screen readers read it out.
  function announcer(element) {
    return function (text) {
      element.textContent = "";
      window.setTimeout(function () { element.textContent = text; }, 50);
    };
  }

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many);
  }

  window.LeroLive = {
    h: h,
    RoomStore: RoomStore,
    snapshotInto: snapshotInto,
    isShown: isShown,
    SHARING: SHARING,
    receivePhrase: receivePhrase,
    receiveOwn: receiveOwn,
    holdButtons: holdButtons,
    releaseButtons: releaseButtons,
    Outbox: Outbox,
    ConnectionStatus: ConnectionStatus,
    openRoom: openRoom,
    fetchLivePass: fetchLivePass,
    syncList: syncList,
    fillItem: fillItem,
    announcer: announcer,
    plural: plural,
    formatTime: formatTime,
  };
})();
