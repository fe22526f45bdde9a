// The host's view of the live room: the queue waiting for approval (oldest first), what the room
// sees (newest first) with feature and withdraw, the question, pausing, the moderation mode,
// capturing a phrase, and who is here. Host actions are not queued while offline: a host
// decides in the moment, so a failure is shown at once instead.
(function () {
  "use strict";
  var L = window.LeroLive;
  var h = L.h;
  var root = document.getElementById("live-room");
  if (!root || !window.io) {
    return;
  }
  var slug = root.dataset.slug;
  var sync = new L.RoomStore(slug, "host");
  var status = new L.ConnectionStatus(
    document.getElementById("connection-state"),
    "Offline: reconnecting when the connection is back"
  );
  var announce = L.announcer(document.getElementById("announcer"));

  var hostError = document.getElementById("host-error");
  var queue = document.getElementById("queue");
  var queueCount = document.getElementById("queue-count");
  var queueEmpty = document.getElementById("queue-empty");
  var stream = document.getElementById("stream");
  var streamEmpty = document.getElementById("stream-empty");
  var promptText = document.getElementById("current-prompt");
  var promptForm = document.getElementById("prompt-form");
  var promptInput = document.getElementById("prompt-text");
  var openState = document.getElementById("open-state");
  var toggleOpen = document.getElementById("toggle-open");
  var moderationInputs = document.querySelectorAll("#moderation input[name=moderation]");
  var phraseForm = document.getElementById("phrase-form");
  var phraseText = document.getElementById("phrase-text");
  var phraseAttribution = document.getElementById("phrase-attribution");
  var phraseStatus = document.getElementById("phrase-status");
  var voicesHeard = document.getElementById("voices-heard");
  var online = document.getElementById("online");
  var onlineCount = document.getElementById("online-count");

  var room = { open: true, moderation: "pre", present: 0, voices: 0, people: [] };
  var data = sync.data;
  var queueNodes = {};
  var streamNodes = {};

  function ensureData() {
    data = sync.data;
    data.contributions = data.contributions || {};
    data.phrases = data.phrases || {};
    data.shown = data.shown || {};
    if (data.prompt === undefined) {
      data.prompt = null;
    }
  }

  // ---- applying what the server sends (docs/live-protocol.md sections 2 and 4) ----

  function applyState(state) {
    ensureData();
    room.open = state.contributions_open !== false;
    room.moderation = state.moderation || "pre";
    data.prompt = state.prompt || null;
    // `queue` is the whole truth about what is pending right now.
    Object.keys(data.contributions).forEach(function (id) {
      if (data.contributions[id].status === "pending") {
        delete data.contributions[id];
      }
    });
    (state.queue || []).forEach(function (contribution) {
      data.contributions[contribution.id] = contribution;
    });
    showPresence(state);
    renderAll();
  }

  function applyUpdate(update, live) {
    ensureData();
    var payload = update.data || {};
    if (update.kind === "prompt") {
      data.prompt = payload.prompt || null;
      renderPrompt();
    } else if (update.kind === "settings") {
      room.open = payload.contributions_open !== false;
      room.moderation = payload.moderation || room.moderation;
      renderSettings();
    } else if (update.kind === "contribution") {
      receiveContribution(payload.contribution, update.seq, live);
    } else if (update.kind === "resonance") {
      var contribution = data.contributions[payload.contribution_id];
      if (contribution) {
        contribution.resonance_count = payload.count;
        renderStream();
      }
    } else if (update.kind === "phrase" && payload.phrase) {
      data.phrases[payload.phrase.id] = payload.phrase;
      data.shown["p" + payload.phrase.id] = data.shown["p" + payload.phrase.id] || update.seq;
      renderStream();
    }
  }

  function receiveContribution(contribution, seq, live) {
    if (!contribution) {
      return;
    }
    var key = "c" + contribution.id;
    var before = data.contributions[contribution.id];
    if (contribution.status === "approved" || contribution.status === "pending") {
      data.contributions[contribution.id] = contribution;
      if (contribution.status === "approved") {
        data.shown[key] = data.shown[key] || seq || sync.seq + 0.5;
      }
      if (live && contribution.status === "pending" && !before) {
        announce("New in the queue from " + (contribution.author || "Anonymous") + ": " +
          contribution.text);
      }
    } else {
      delete data.contributions[contribution.id];
      delete data.shown[key];
    }
    renderQueue();
    renderStream();
  }

  function showPresence(message) {
    if (typeof message.present === "number") {
      room.present = message.present;
    }
    if (typeof message.voices_heard === "number") {
      room.voices = message.voices_heard;
    }
    if (Array.isArray(message.people)) {
      room.people = message.people;
    }
    voicesHeard.textContent = L.plural(room.voices, "voice", "voices") + " heard · " +
      L.plural(room.present, "person", "people") + " here";
    onlineCount.textContent = "(" + room.present + ")";
    online.replaceChildren.apply(online, room.people.map(function (person) {
      return h("li", {}, [person.name + (person.role === "guest" ? " (guest)" : "")]);
    }));
    if (room.people.length === 0) {
      online.replaceChildren(h("li", { className: "hint" }, ["Nobody has joined yet."]));
    }
  }

  // ---- rendering ----

  function renderAll() {
    renderPrompt();
    renderSettings();
    renderQueue();
    renderStream();
  }

  function renderPrompt() {
    promptText.textContent = data.prompt ? data.prompt.text : "No question yet.";
    promptText.classList.toggle("prompt-none", !data.prompt);
  }

  function renderSettings() {
    openState.textContent = room.open ?
      "Reflections are open." : "Reflections are paused: participants' new ones wait on their devices.";
    toggleOpen.textContent = room.open ? "Pause reflections" : "Reopen reflections";
    moderationInputs.forEach(function (input) { input.checked = input.value === room.moderation; });
  }

  function renderQueue() {
    var pending = Object.keys(data.contributions).map(function (id) {
      return data.contributions[id];
    }).filter(function (contribution) { return contribution.status === "pending"; });
    pending.sort(function (a, b) { return a.id - b.id; });
    var nodes = pending.map(function (contribution) {
      var node = queueNodes[contribution.id];
      if (!node) {
        var id = contribution.id;
        node = h("li", { className: "stream-item", dataset: { id: id } }, [
          h("div", { className: "item-actions" }, [
            h("button", { type: "button", onclick: function () { act("approve", id, node); } },
              ["Approve"]),
            h("button", {
              type: "button", className: "secondary",
              onclick: function () { approveAndFeature(id, node); },
            }, ["Approve and feature"]),
            h("button", {
              type: "button", className: "secondary",
              onclick: function () { act("reject", id, node); },
            }, ["Reject"]),
          ]),
        ]);
        queueNodes[id] = node;
      }
      L.fillItem(node, contribution, "contribution");
      return node;
    });
    Object.keys(queueNodes).forEach(function (id) {
      if (nodes.indexOf(queueNodes[id]) === -1) {
        delete queueNodes[id];
      }
    });
    keepFocusInList(queue, nodes, function () { L.syncList(queue, nodes); });
    queueCount.textContent = "(" + nodes.length + ")";
    queueEmpty.hidden = nodes.length > 0;
  }

  function renderStream() {
    var entries = [];
    Object.keys(data.contributions).forEach(function (id) {
      if (data.contributions[id].status === "approved") {
        entries.push({ key: "c" + id, kind: "contribution", item: data.contributions[id] });
      }
    });
    Object.keys(data.phrases).forEach(function (id) {
      entries.push({ key: "p" + id, kind: "phrase", item: data.phrases[id] });
    });
    entries.forEach(function (entry) { entry.order = data.shown[entry.key] || entry.item.id; });
    entries.sort(function (a, b) { return b.order - a.order; });
    var nodes = entries.map(function (entry) {
      var node = streamNodes[entry.key];
      if (!node) {
        node = h("li", { className: "stream-item", dataset: { key: entry.key } });
        if (entry.kind === "contribution") {
          var id = entry.item.id;
          node.appendChild(h("div", { className: "item-actions" }, [
            h("button", {
              type: "button", className: "secondary feature-toggle", "aria-pressed": "false",
              onclick: function (clickEvent) {
                var pressed = clickEvent.currentTarget.getAttribute("aria-pressed") === "true";
                act("feature", id, node, { featured: !pressed });
              },
            }, ["Feature"]),
            h("button", {
              type: "button", className: "secondary",
              onclick: function () { act("withdraw", id, node); },
            }, ["Withdraw"]),
            h("span", { className: "resonance-count" }),
          ]));
        }
        streamNodes[entry.key] = node;
      }
      L.fillItem(node, entry.item, entry.kind);
      if (entry.kind === "contribution") {
        node.querySelector(".feature-toggle").setAttribute(
          "aria-pressed", entry.item.featured ? "true" : "false");
        var count = entry.item.resonance_count || 0;
        node.querySelector(".resonance-count").textContent =
          count ? L.plural(count, "person", "people") + " resonate" : "";
      }
      return node;
    });
    Object.keys(streamNodes).forEach(function (key) {
      if (nodes.indexOf(streamNodes[key]) === -1) {
        delete streamNodes[key];
      }
    });
    keepFocusInList(stream, nodes, function () { L.syncList(stream, nodes); });
    streamEmpty.hidden = nodes.length > 0;
  }

  // When the item holding focus leaves a list (approved, rejected, withdrawn), move focus to
  // the next item's first button, or the list's heading, so keyboard users are not dropped
  // back to the top of the page.
  function keepFocusInList(list, nodes, change) {
    var focused = document.activeElement;
    var leaving = null;
    var index = -1;
    Array.prototype.forEach.call(list.children, function (child, position) {
      if (child.contains(focused) && nodes.indexOf(child) === -1) {
        leaving = child;
        index = position;
      }
    });
    change();
    if (leaving) {
      var next = list.children[Math.min(index, list.children.length - 1)];
      var target = next ? next.querySelector("button") : null;
      if (target) {
        target.focus();
      } else {
        var heading = document.getElementById(list.getAttribute("data-heading"));
        if (heading) {
          heading.focus();
        }
      }
    }
  }

  // ---- host actions ----

  function showError(message) {
    hostError.textContent = message;
    hostError.hidden = !message;
  }

  // Send one host action; `done(ack)` runs on success, `failed()` otherwise. Errors are shown,
  // never swallowed.
  function request(name, payload, done, buttons, failed) {
    if (!socket.connected) {
      showError("Not connected, so that was not done: try again when the connection is back.");
      if (failed) {
        failed();
      }
      return;
    }
    (buttons || []).forEach(function (button) { button.disabled = true; });
    socket.timeout(10000).emit(name, payload, function (error, ack) {
      (buttons || []).forEach(function (button) { button.disabled = false; });
      if (error || !ack || !ack.ok) {
        showError(error || !ack ? "The live room did not answer in time: please try again." :
          ack.error);
        if (failed) {
          failed();
        }
      } else {
        showError("");
        if (done) {
          done(ack);
        }
      }
    });
  }

  function act(name, id, node, extra) {
    var payload = { contribution_id: id };
    Object.keys(extra || {}).forEach(function (key) { payload[key] = extra[key]; });
    request(name, payload, function (ack) {
      receiveContribution(ack.contribution, null, false);
      sync.save();
    }, node.querySelectorAll("button"));
  }

  function approveAndFeature(id, node) {
    request("approve", { contribution_id: id }, function (ack) {
      receiveContribution(ack.contribution, null, false);
      request("feature", { contribution_id: id, featured: true }, function (featured) {
        receiveContribution(featured.contribution, null, false);
        sync.save();
      });
    }, node.querySelectorAll("button"));
  }

  promptForm.addEventListener("submit", function (submitEvent) {
    submitEvent.preventDefault();
    var text = promptInput.value.trim();
    if (!text) {
      showError("Write the question first.");
      promptInput.focus();
      return;
    }
    request("set_prompt", { text: text }, function (ack) {
      data.prompt = ack.prompt;
      promptInput.value = "";
      renderPrompt();
      announce("The question is now: " + ack.prompt.text);
    }, [promptForm.querySelector("button")]);
  });

  toggleOpen.addEventListener("click", function () {
    request("set_contributions_open", { open: !room.open }, function (ack) {
      room.open = ack.contributions_open;
      renderSettings();
    }, [toggleOpen]);
  });

  moderationInputs.forEach(function (input) {
    input.addEventListener("change", function () {
      request("set_moderation", { mode: input.value }, function (ack) {
        room.moderation = ack.moderation;
        renderSettings();
      }, [], renderSettings);
    });
  });

  phraseForm.addEventListener("submit", function (submitEvent) {
    submitEvent.preventDefault();
    var text = phraseText.value.trim();
    if (!text) {
      showError("Write the phrase first.");
      phraseText.focus();
      return;
    }
    request("capture_phrase", { text: text, attribution: phraseAttribution.value.trim() },
      function (ack) {
        phraseText.value = "";
        phraseAttribution.value = "";
        phraseStatus.textContent = "Captured for the harvest: “" + ack.phrase.text + "”";
      }, [phraseForm.querySelector("button")]);
  });

  // ---- start ----

  ensureData();
  renderAll();
  var socket = L.openRoom(slug, sync, status, {
    identity: function (send) { send({ role: "host" }); },
    applyState: applyState,
    applyUpdate: applyUpdate,
    applySnapshot: function (snapshot) {
      L.snapshotInto(sync.data, snapshot);
      ensureData();
    },
    presence: showPresence,
    connected: function () { showError(""); },
    reset: function () {
      ensureData();
      renderAll();
    },
  });
})();
