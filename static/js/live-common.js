// Shared by the participant (live.js) and host (host.js) pages of the live room: the Socket.IO
// connection with its visible state, sequence numbers for catch-up, the outbox that keeps
// unsent reflections in localStorage, and small DOM helpers. The protocol is documented in
// docs/live-protocol.md.
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

  // What this tab has applied of the room: the highest sequence number (`seq`) and the page's
  // own data built from the updates. Both live in memory and in sessionStorage, so a reload
  // shows the room at once (even offline) and asks the server only for what came after.
  // Updates follow docs/live-protocol.md section 4: one whose seq is not above the last
  // applied is ignored (catch-up is idempotent); those arriving before `state` are held.
  function RoomSync(slug, role) {
    this.key = "lero-live-room:" + role + ":" + slug;
    var saved = storageGet(window.sessionStorage, this.key, null);
    var valid = saved && typeof saved.seq === "number" && saved.data &&
      typeof saved.data === "object";
    this.seq = valid ? saved.seq : 0;
    this.data = valid ? saved.data : {};
    this.ready = false;
    this.held = [];
  }

  RoomSync.prototype.save = function () {
    storageSet(window.sessionStorage, this.key, { seq: this.seq, data: this.data });
  };

  RoomSync.prototype.reset = function () {
    this.seq = 0;
    this.data = {};
    this.save();
  };

  RoomSync.prototype.connectionLost = function () {
    this.ready = false;
    this.held = [];
  };

  RoomSync.prototype.applyInOrder = function (update, apply, live) {
    if (!update || typeof update.seq !== "number" || update.seq <= this.seq) {
      return;
    }
    apply(update, live);
    this.seq = update.seq;
  };

  // Returns false when the server's room is behind what we hold (its database was replaced):
  // the cache is then dropped and the caller reconnects from zero.
  RoomSync.prototype.receiveState = function (state, applyState, applyUpdate) {
    var self = this;
    if (typeof state.seq !== "number" || state.seq < this.seq) {
      this.reset();
      return false;
    }
    (state.updates || []).forEach(function (update) {
      self.applyInOrder(update, applyUpdate, false);
    });
    this.seq = state.seq;
    applyState(state);
    this.ready = true;
    var held = this.held;
    this.held = [];
    held.forEach(function (update) { self.applyInOrder(update, applyUpdate, true); });
    this.save();
    return true;
  };

  RoomSync.prototype.receiveUpdate = function (update, applyUpdate) {
    if (!this.ready) {
      this.held.push(update);
      return;
    }
    this.applyInOrder(update, applyUpdate, true);
    this.save();
  };

  // Reflections typed but not yet acknowledged by the server, kept in localStorage per event
  // with their client_id so a resend after a reconnect or reload is recognised, never doubled.
  function Outbox(slug) {
    this.key = "lero-live-outbox:" + slug;
    this.items = storageGet(window.localStorage, this.key, []);
    if (!Array.isArray(this.items)) {
      this.items = [];
    }
  }

  Outbox.prototype.save = function () {
    storageSet(window.localStorage, this.key, this.items);
  };

  Outbox.prototype.add = function (fields) {
    var item = {
      client_id: newClientId(),
      text: fields.text,
      anonymous: Boolean(fields.anonymous),
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

  // Open the /live namespace and keep `sync` up to date. `auth` is called on every
  // (re)connect, so each handshake carries the current last_seq. `page` supplies:
  // identity() -> the auth fields, applyState(state), applyUpdate(update, live),
  // presence(message), connected() after every state, reset() when the cache was dropped.
  function openRoom(slug, sync, status, page) {
    var socket = window.io("/live", {
      auth: function (send) {
        var auth = page.identity();
        auth.slug = slug;
        auth.last_seq = sync.seq;
        send(auth);
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

    status.connecting();
    socket.on("connect", function () {
      failedAttempts = 0;
    });
    socket.on("state", function (state) {
      if (!sync.receiveState(state, page.applyState, page.applyUpdate)) {
        page.reset();
        socket.disconnect().connect();
        return;
      }
      status.connected();
      page.connected();
    });
    socket.on("update", function (update) {
      sync.receiveUpdate(update, page.applyUpdate);
    });
    socket.on("presence", function (message) {
      page.presence(message);
    });
    socket.on("disconnect", function (reason) {
      // Not on "connect": the client hands over `state` (sent by the server's connect
      // handler) before it fires "connect".
      sync.connectionLost();
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
    socket.on("connect_error", function (error) {
      if (!socket.active) {
        // The server refused us (a stale link, a closed event...): retrying would not help,
        // so say why and let the person try again themselves.
        status.refused(error.message || "the live room refused the connection.", function () {
          status.connecting();
          socket.connect();
        });
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
    RoomSync: RoomSync,
    Outbox: Outbox,
    ConnectionStatus: ConnectionStatus,
    openRoom: openRoom,
    syncList: syncList,
    fillItem: fillItem,
    announcer: announcer,
    plural: plural,
  };
})();
