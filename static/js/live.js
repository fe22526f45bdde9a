// The participant's live room: the question now, the shared stream (newest first), their own
// reflections (waiting for a host, held back with the hosts' reason, or shared), each with a
// way to take it down, the form, how many wait and were held back, and a quiet "I need
// support". Reflections go into a localStorage outbox first and leave it only when the server
// acknowledges them, so a flaky phone loses nothing.
(function () {
  "use strict";
  var L = window.LeroLive;
  var h = L.h;
  var root = document.getElementById("live-room");
  if (!root || !window.io) {
    return;
  }
  var slug = root.dataset.slug;
  var maxLength = Number(root.dataset.maxLength) || 500;
  var sync = new L.RoomStore(slug, "participant");
  // One outbox per person, so someone else using this browser later never sends what an
  // earlier person left unsent: "r" and the registration's id, or "g" and the guest key.
  var person = root.dataset.person;
  var outbox = new L.Outbox(slug + ":" + person);
  var status = new L.ConnectionStatus(
    document.getElementById("connection-state"),
    "Offline: your messages are saved and will be sent"
  );
  var announce = L.announcer(document.getElementById("announcer"));

  var form = document.getElementById("contribute-form");
  var textarea = document.getElementById("contribution-text");
  var anonymous = document.getElementById("contribution-anonymous");
  var sharingChoices = form.querySelectorAll("input[name=sharing]");
  var counter = document.getElementById("contribution-count");
  var formError = document.getElementById("contribution-error");
  var promptText = document.getElementById("current-prompt");
  var closedBanner = document.getElementById("contributions-closed");
  var endedBanner = document.getElementById("session-ended");
  var presenceCount = document.getElementById("presence-count");
  var moderationHint = document.getElementById("moderation-hint");
  var mineSection = document.getElementById("mine-section");
  var mineList = document.getElementById("my-contributions");
  var stream = document.getElementById("stream");
  var streamEmpty = document.getElementById("stream-empty");
  var featuredSection = document.getElementById("featured-section");
  var featuredList = document.getElementById("featured");
  var moderationCounts = document.getElementById("moderation-counts");
  var supportSection = document.getElementById("support-section");
  var supportButton = document.getElementById("support-button");
  var supportStatus = document.getElementById("support-status");
  var supportContacts = document.getElementById("support-contacts");
  var supportContactsList = document.getElementById("support-contacts-list");
  var supportUnavailable = document.getElementById("support-unavailable");

  var room = { open: true, ended: false, moderation: null, resonated: {}, support: null };
  var data = sync.data;
  var streamNodes = {};
  var featuredNodes = {};
  var inFlight = {};
  var sendAttempt = 0;
  var mineNodes = {};

  function ensureData() {
    data = sync.data;
    data.contributions = data.contributions || {};
    data.phrases = data.phrases || {};
    data.shown = data.shown || {};
    // Our own contributions by id, as we see them (L.receiveOwn), and held-back ones we dismissed.
    data.own = data.own || {};
    data.dismissed = data.dismissed || {};
    if (data.prompt === undefined) {
      data.prompt = null;
    }
  }

  // The page never holds the private token: a registered person joins with a fresh live
  // pass fetched before every connect (docs/live-protocol.md section 11).
  function identity(send, refuse) {
    if (root.dataset.passUrl) {
      L.fetchLivePass(root.dataset.passUrl, function (livePass, reason) {
        if (reason) {
          refuse(reason);
        } else {
          send({ live_pass: livePass });
        }
      });
      return;
    }
    send({ guest_name: root.dataset.guestName, guest_key: root.dataset.guestKey });
  }

  // ---- applying what the server sends (docs/live-protocol.md sections 2 and 4) ----

  function applyState(state) {
    ensureData();
    room.open = state.contributions_open !== false;
    room.ended = Boolean(state.event && state.event.ended);
    room.moderation = state.moderation;
    room.resonated = {};
    (state.resonated || []).forEach(function (id) { room.resonated[id] = true; });
    data.prompt = state.prompt || null;
    // `mine` is the whole truth about our own reflections right now.
    data.own = {};
    (state.mine || []).forEach(function (contribution) {
      data.own[contribution.id] = contribution;
      outbox.remember(contribution);
    });
    room.support = state.support || null;
    showPresence(state.present);
    showCounts(state);
    renderAll();
    renderSupport();
  }

  function applyUpdate(update, live) {
    ensureData();
    var payload = update.data || {};
    if (update.kind === "prompt") {
      data.prompt = payload.prompt || null;
      renderPrompt();
      if (live && data.prompt) {
        announce("New question from the hosts: " + data.prompt.text);
      }
    } else if (update.kind === "settings") {
      room.open = payload.contributions_open !== false;
      room.moderation = payload.moderation;
      renderSettings();
      flush();
    } else if (update.kind === "contribution") {
      receiveContribution(payload.contribution, update.seq, live, update.chain === "own");
    } else if (update.kind === "resonance") {
      var resonated = data.contributions[payload.contribution_id];
      if (resonated) {
        resonated.resonance_count = payload.count;
        renderStream();
      }
    } else if (update.kind === "phrase" && payload.phrase) {
      var isNew = L.receivePhrase(data, payload.phrase, update.seq);
      renderStream();
      if (live && isNew) {
        announce("Heard in the room: " + payload.phrase.text);
      }
    }
  }

  function receiveContribution(contribution, seq, live, own) {
    if (!contribution) {
      return;
    }
    var key = "c" + contribution.id;
    var before = data.contributions[contribution.id];
    if (own || data.own[contribution.id]) {
      L.receiveOwn(data.own, contribution);
    }
    if (L.isShown(contribution)) {
      data.contributions[contribution.id] = contribution;
      data.shown[key] = data.shown[key] || seq || sync.seq + 0.5;
      if (live && (!before || before.status !== "approved")) {
        announce("New reflection from " + (contribution.author || "Anonymous") + ": " +
          contribution.text);
      }
    } else {
      // Out of the stream. Only the author hears of pending and held-back ones (their own
      // chain): those stay in "Your reflections", a held-back one with its reason.
      delete data.contributions[contribution.id];
      delete data.shown[key];
      if (live && contribution.status === "rejected") {
        announce("The hosts held back your reflection" +
          (contribution.held_back_reason ? ": " + contribution.held_back_reason : "."));
      }
    }
    renderAll();
  }

  function showCounts(message) {
    if (typeof message.waiting === "number") {
      moderationCounts.textContent = message.waiting + " waiting for the hosts · " +
        (message.held_back || 0) + " held back";
    }
  }

  // What the hosts changed in one of our reflections, said next to it.
  function redactionNote(contribution) {
    var labels = contribution.redacted || [];
    if (!labels.length || !data.own[contribution.id]) {
      return null;
    }
    var names = { name: "a name", place: "a place", detail: "a detail" };
    var removed = labels.map(function (label) { return names[label] || "a detail"; });
    return h("p", { className: "hint redaction-note" }, [
      "A host removed " + removed.join(", ") + " from your reflection (marked in the text).",
    ]);
  }

  function showPresence(present) {
    if (typeof present === "number") {
      presenceCount.textContent = L.plural(present, "person", "people") + " here";
    }
  }

  // ---- rendering ----

  function renderAll() {
    renderPrompt();
    renderSettings();
    renderStream();
    renderMine();
  }

  function renderPrompt() {
    if (data.prompt) {
      promptText.textContent = data.prompt.text;
    }
    promptText.classList.toggle("prompt-none", !data.prompt);
  }

  function renderSettings() {
    closedBanner.hidden = room.open || room.ended;
    endedBanner.hidden = !room.ended;
    form.querySelector("button[type=submit]").disabled = room.ended;
    textarea.disabled = room.ended;
    if (room.moderation === "pre" || room.moderation === "post") {
      moderationHint.textContent = moderationHint.dataset[room.moderation];
    }
  }

  function streamEntries() {
    var entries = [];
    Object.keys(data.contributions).forEach(function (id) {
      var contribution = data.contributions[id];
      if (L.isShown(contribution)) {
        entries.push({ key: "c" + id, kind: "contribution", item: contribution });
      }
    });
    Object.keys(data.phrases).forEach(function (id) {
      entries.push({ key: "p" + id, kind: "phrase", item: data.phrases[id] });
    });
    entries.forEach(function (entry) {
      entry.order = data.shown[entry.key] || entry.item.id;
    });
    // Newest first, as in Slido's "Recent": what was just shared is at the top.
    entries.sort(function (a, b) { return b.order - a.order; });
    return entries;
  }

  function renderStream() {
    var entries = streamEntries();
    var nodes = entries.map(function (entry) {
      var node = streamNodes[entry.key];
      if (!node) {
        node = h("li", { className: "stream-item", dataset: { key: entry.key } });
        if (entry.kind === "contribution") {
          node.appendChild(h("div", { className: "item-actions" }, [resonateButton(entry.item.id)]));
        }
        streamNodes[entry.key] = node;
      }
      L.fillItem(node, entry.item, entry.kind);
      if (entry.kind === "contribution") {
        showSharing(node, entry.item);
        updateResonateButton(node.querySelector(".resonate"), entry.item);
        var note = redactionNote(entry.item);
        if (note) {
          node.querySelector(".item-body").appendChild(note);
        }
      }
      return node;
    });
    Object.keys(streamNodes).forEach(function (key) {
      if (nodes.indexOf(streamNodes[key]) === -1) {
        delete streamNodes[key];
      }
    });
    L.syncList(stream, nodes);
    streamEmpty.hidden = nodes.length > 0;

    var featured = entries.filter(function (entry) { return entry.item.featured; });
    var featuredNodesNow = featured.map(function (entry) {
      var node = featuredNodes[entry.key] || h("li", { className: "stream-item featured" });
      featuredNodes[entry.key] = node;
      L.fillItem(node, entry.item, entry.kind);
      return node;
    });
    L.syncList(featuredList, featuredNodesNow);
    featuredSection.hidden = featured.length === 0;
  }

  // The author reads back, on each of their own reflections, where it may appear.
  function showSharing(node, contribution) {
    var choice = outbox.mine[contribution.id];
    if (choice && L.SHARING[choice]) {
      node.querySelector(".byline").appendChild(
        h("span", { className: "sharing-note" }, [" · " + L.SHARING[choice]]));
    }
  }

  function resonateButton(id) {
    return h("button", {
      type: "button",
      className: "resonate secondary",
      "aria-pressed": "false",
      onclick: function (clickEvent) { toggleResonance(id, clickEvent.currentTarget); },
    });
  }

  function updateResonateButton(button, contribution) {
    var on = Boolean(room.resonated[contribution.id]);
    var count = contribution.resonance_count || 0;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = "Resonates with me" + (count ? " (" + count + ")" : "");
  }

  // One button's request to the room: `done(ack)` runs only when the room said yes; being
  // offline, no answer and a refusal are announced.
  function askRoom(name, payload, button, done) {
    if (!socket.connected) {
      announce("You are offline: try again when the connection is back.");
      return;
    }
    // Held rather than disabled: a disabled button drops keyboard focus to the page's top.
    if (!L.holdButtons([button])) {
      return;
    }
    socket.timeout(10000).emit(name, payload, function (error, ack) {
      L.releaseButtons([button]);
      if (error || !ack) {
        announce("That did not reach the room: please try again.");
        return;
      }
      if (!ack.ok) {
        announce(ack.error);
        return;
      }
      done(ack);
    });
  }

  function toggleResonance(id, button) {
    askRoom("resonate", { contribution_id: id }, button, function (ack) {
      room.resonated[id] = Boolean(ack.resonating);
      if (data.contributions[id]) {
        data.contributions[id].resonance_count = ack.count;
        sync.save();
      }
      renderStream();
    });
  }

  // Items are rebuilt only when what they show changes, so a button keeps its focus and an
  // error is announced once, however busy the room is.
  function mineNode(key, signature, build) {
    var kept = mineNodes[key];
    if (!kept || kept.signature !== signature) {
      kept = { signature: signature, node: build() };
      mineNodes[key] = kept;
    }
    return kept.node;
  }

  function renderMine() {
    var known = {};
    Object.keys(data.own).forEach(function (id) {
      known[data.own[id].client_id] = true;
    });
    var wanted = {};
    var nodes = [];
    function add(key, signature, build) {
      wanted[key] = true;
      nodes.push(mineNode(key, signature, build));
    }
    outbox.items.forEach(function (item) {
      if (!known[item.client_id]) {
        var label = outboxLabel(item);
        add("o:" + item.client_id, label + "|" + item.error + "|" + item.text, function () {
          return outboxItem(item, label);
        });
      }
    });
    Object.keys(data.own).forEach(function (id) {
      var contribution = data.own[id];
      if (contribution.status === "rejected") {
        if (!data.dismissed[id]) {
          add("n:" + id, JSON.stringify(contribution), function () {
            return heldBackItem(contribution);
          });
        }
      } else if (OWN_BADGES[contribution.status]) {
        add("c:" + id, JSON.stringify(contribution), function () {
          return ownItem(contribution);
        });
      }
    });
    Object.keys(mineNodes).forEach(function (key) {
      if (!wanted[key]) {
        delete mineNodes[key];
      }
    });
    L.syncList(mineList, nodes);
    mineSection.hidden = nodes.length === 0;
  }

  // What "Your reflections" says about one that is not held back.
  var OWN_BADGES = {
    pending: ["badge badge-waiting", "Waiting for a host"],
    approved: ["badge", "Shared"],
    withdrawn: ["badge", "Taken out of the room by the hosts"],
  };

  function ownItem(contribution) {
    var badge = OWN_BADGES[contribution.status];
    var node = h("li", {
      className: "stream-item" + (contribution.status === "pending" ? " waiting" : ""),
      dataset: { id: contribution.id },
    });
    L.fillItem(node, contribution, "contribution");
    node.querySelector(".byline").prepend(h("span", { className: badge[0] }, [badge[1]]));
    showSharing(node, contribution);
    var note = redactionNote(contribution);
    if (note) {
      node.querySelector(".item-body").appendChild(note);
    }
    node.appendChild(h("div", { className: "item-actions" }, [takeDownButton(contribution)]));
    return node;
  }

  // The author takes one of their reflections down: out of the room, the harvest and its
  // exports at once (docs/live-protocol.md section 16), as from their private link.
  function takeDownButton(contribution) {
    return h("button", {
      type: "button", className: "secondary take-down",
      onclick: function (clickEvent) { takeDown(contribution.id, clickEvent.currentTarget); },
    }, ["Take it down"]);
  }

  function takeDown(id, button) {
    askRoom("take_down", { contribution_id: id }, button, function (ack) {
      receiveContribution(ack.contribution, null, false, true);
      sync.save();
      announce("Taken down: it is gone from the room and the harvest.");
      textarea.focus();
    });
  }

  function heldBackItem(contribution) {
    var reason = contribution.held_back_reason;
    return h("li", { className: "stream-item failed held-back", dataset: { id: contribution.id } }, [
      h("p", { className: "item-text" }, [contribution.text]),
      h("p", { className: "byline" }, [
        h("span", { className: "badge badge-error" }, ["Held back"]),
        "The hosts chose not to share this one with the room.",
      ]),
      reason ? h("p", { className: "held-back-reason" }, ["Their reason: " + reason]) : null,
      h("div", { className: "item-actions" }, [takeDownButton(contribution), h("button", {
        type: "button", className: "secondary",
        onclick: function () {
          data.dismissed[contribution.id] = true;
          sync.save();
          renderMine();
          textarea.focus();
        },
      }, ["Dismiss"])]),
    ]);
  }

  // ---- support: a quiet request only the wellbeing hosts see ----

  function renderSupport() {
    var support = room.support;
    supportSection.hidden = !support;
    if (!support) {
      return;
    }
    supportButton.hidden = !support.available;
    supportUnavailable.hidden = support.available || !support.contacts;
    var asked = support.request;
    if (asked && support.available) {
      var time = L.formatTime(asked.created_at);
      supportStatus.textContent = asked.status === "open" ?
        "Received at " + time + ". A wellbeing host will reach you quietly; nobody else is told." :
        "A wellbeing host has looked after your request from " + time + ". You can ask again.";
      supportButton.textContent = asked.status === "open" ? "Ask again" : "I need support";
    } else {
      supportStatus.textContent = "";
      supportButton.textContent = "I need support";
    }
    var lines = (support.contacts || "").split("\n").filter(function (line) { return line.trim(); });
    supportContactsList.replaceChildren.apply(supportContactsList, lines.map(function (line) {
      return h("li", {}, [line]);
    }));
    // The contacts show once the person asked, or when nobody in the room can be asked.
    supportContacts.hidden = !lines.length || (support.available && !asked);
  }

  supportButton.addEventListener("click", function () {
    if (!socket.connected) {
      supportStatus.textContent = "You are offline, so that did not reach the hosts: " +
        "try again when the connection is back.";
      return;
    }
    supportButton.disabled = true;
    socket.timeout(10000).emit("request_support", {}, function (error, ack) {
      supportButton.disabled = false;
      if (error || !ack) {
        supportStatus.textContent = "That did not reach the hosts in time: please try again.";
        return;
      }
      if (!ack.ok) {
        supportStatus.textContent = ack.error;
        supportContacts.hidden = !supportContactsList.children.length;
        return;
      }
      room.support.request = ack.request;
      room.support.contacts = ack.contacts;
      renderSupport();
      supportStatus.focus();
    });
  });

  function outboxLabel(item) {
    if (item.error) {
      return "Not sent";
    } else if (room.ended) {
      return "Not sent: the session has ended";
    } else if (inFlight[item.client_id]) {
      return "Sending…";
    } else if (!socket || !socket.connected) {
      return "Saved on this device: it will be sent when you are back online";
    } else if (!room.open) {
      return "Saved: it will be sent when the hosts reopen reflections";
    }
    return "Waiting to send";
  }

  function outboxItem(item, label) {
    var children = [
      h("div", { className: "item-body" }, [
        h("p", { className: "item-text" }, [item.text]),
        h("p", { className: "byline" }, [
          h("span", { className: "badge " + (item.error ? "badge-error" : "badge-waiting") },
            [label]),
          item.anonymous ? "Anonymous" : null,
          L.SHARING[item.sharing] ? " · " + L.SHARING[item.sharing] : null,
        ]),
      ]),
    ];
    if (item.error) {
      children.push(h("p", { className: "error", role: "alert" }, [item.error]));
      children.push(h("div", { className: "item-actions" }, [
        h("button", { type: "button", onclick: function () { editItem(item); } }, ["Edit"]),
        h("button", {
          type: "button", className: "secondary",
          onclick: function () {
            outbox.update(item.client_id, { error: null });
            flush();
            textarea.focus();
          },
        }, ["Try again"]),
        h("button", {
          type: "button", className: "secondary",
          onclick: function () { outbox.remove(item.client_id); renderMine(); textarea.focus(); },
        }, ["Remove"]),
      ]));
    }
    return h("li", {
      className: "stream-item outbox" + (item.error ? " failed" : ""),
      dataset: { clientId: item.client_id },
    }, children);
  }

  function editItem(item) {
    outbox.remove(item.client_id);
    textarea.value = textarea.value ? textarea.value + "\n" + item.text : item.text;
    anonymous.checked = item.anonymous;
    chooseSharing(item.sharing);
    updateCounter();
    renderMine();
    textarea.focus();
  }

  // ---- sending: the outbox ----

  function flush() {
    if (!socket || !socket.connected || !sync.ready || !room.open || room.ended) {
      renderMine();
      return;
    }
    outbox.items.forEach(function (item) {
      if (!item.error && !inFlight[item.client_id]) {
        send(item);
      }
    });
    renderMine();
  }

  function send(item) {
    sendAttempt += 1;
    var attempt = sendAttempt;
    inFlight[item.client_id] = attempt;
    var payload = {
      client_id: item.client_id,
      text: item.text,
      prompt_id: item.prompt_id,
      anonymous: item.anonymous,
      sharing: item.sharing || "anonymous",
    };
    socket.timeout(15000).emit("contribute", payload, function (error, ack) {
      if (inFlight[item.client_id] !== attempt) {
        return;
      }
      delete inFlight[item.client_id];
      if (error || !ack) {
        // No answer in time: it stays in the outbox and goes again with the same client_id.
        window.setTimeout(flush, 3000);
      } else if (ack.ok) {
        outbox.remove(item.client_id);
        if (ack.contribution) {
          outbox.remember(ack.contribution);
          receiveContribution(ack.contribution, null, false, true);
          sync.save();
        }
      } else if (room.open) {
        outbox.update(item.client_id, { error: ack.error });
      }
      renderMine();
    });
  }

  function chosenSharing() {
    var chosen = form.querySelector("input[name=sharing]:checked");
    return chosen ? chosen.value : "anonymous";
  }

  function chooseSharing(value) {
    Array.prototype.forEach.call(sharingChoices, function (input) {
      input.checked = input.value === (value || "anonymous");
    });
  }

  function updateCounter() {
    var length = textarea.value.length;
    counter.textContent = length + " of " + maxLength + " characters";
    counter.classList.toggle("counter-near", length > maxLength - 50);
  }

  textarea.addEventListener("input", function () {
    updateCounter();
    formError.hidden = true;
  });

  form.addEventListener("submit", function (submitEvent) {
    submitEvent.preventDefault();
    var text = textarea.value.trim();
    var problem = null;
    if (!text) {
      problem = "Please write something before sending.";
    } else if (text.length > maxLength) {
      problem = "Please keep it under " + maxLength + " characters (yours has " + text.length + ").";
    }
    if (problem) {
      formError.textContent = problem;
      formError.hidden = false;
      textarea.setAttribute("aria-invalid", "true");
      textarea.focus();
      return;
    }
    textarea.removeAttribute("aria-invalid");
    outbox.add({
      text: text,
      anonymous: anonymous.checked,
      sharing: chosenSharing(),
      prompt_id: data.prompt ? data.prompt.id : null,
    });
    textarea.value = "";
    updateCounter();
    flush();
  });

  // ---- start: show what this tab already had, then connect ----

  ensureData();
  renderAll();
  updateCounter();
  var socket = L.openRoom(slug, sync, status, {
    identity: identity,
    applyState: applyState,
    applyUpdate: applyUpdate,
    applySnapshot: function (snapshot) {
      L.snapshotInto(sync.data, snapshot);
      ensureData();
    },
    presence: function (message) {
      showPresence(message.present);
      showCounts(message);
    },
    mine: function (contribution) {
      L.receiveOwn(data.own, contribution);
      renderMine();
    },
    connected: flush,
    disconnected: function () {
      inFlight = {};
      // A count from before the connection dropped would be a guess.
      presenceCount.textContent = "";
      renderMine();
    },
    reset: function () {
      ensureData();
      renderAll();
    },
  });
})();
