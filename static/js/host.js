// The host's view of the live room: the queue waiting for approval (oldest first, several can be
// selected and approved or held back at once), what the room sees (newest first) with feature
// and withdraw, holding back with a reason and redacting, phrases with edit and withdraw, what
// was held back (restorable), an undo for the last hold-back or withdraw, the question and the
// prepared ones (asked, moved up or down, made next),
// pausing, the moderation mode, capturing a phrase, who is here, and (wellbeing hosts only) the
// support requests. Host actions are not queued while offline: a host decides in the moment,
// so a failure is shown at once instead.
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
  var moderationForm = document.getElementById("moderation-form");
  var moderationInputs = moderationForm.querySelectorAll("input[name=mode]");
  var phraseForm = document.getElementById("phrase-form");
  var phraseText = document.getElementById("phrase-text");
  var phraseAttribution = document.getElementById("phrase-attribution");
  var phraseStatus = document.getElementById("phrase-status");
  var voicesHeard = document.getElementById("voices-heard");
  var online = document.getElementById("online");
  var onlineCount = document.getElementById("online-count");
  var heldList = document.getElementById("held-back");
  var heldCount = document.getElementById("held-back-count");
  var heldEmpty = document.getElementById("held-back-empty");
  var selectAll = document.getElementById("select-all");
  var approveSelected = document.getElementById("approve-selected");
  var rejectSelected = document.getElementById("reject-selected");
  var undoBar = document.getElementById("undo-bar");
  var roomCounts = document.getElementById("room-counts");
  var supportSection = document.getElementById("support-section");
  var supportOpen = document.getElementById("support-open");
  var supportEmpty = document.getElementById("support-empty");
  var supportHandled = document.getElementById("support-handled");
  var supportCount = document.getElementById("support-count");
  var prepared = document.getElementById("prepared");
  var preparedList = document.getElementById("prepared-list");
  var nextPrompt = document.getElementById("next-prompt");
  var nextPromptText = document.getElementById("next-prompt-text");

  var room = {
    open: true, moderation: "pre", present: 0, voices: 0, people: [], reasons: [],
    wellbeing: false, waiting: 0, heldBack: 0,
  };
  var REDACTION_LABELS = [["name", "A name"], ["place", "A place"], ["detail", "Another detail"]];
  var data = sync.data;
  var queueNodes = {};
  var streamNodes = {};
  var heldNodes = {};
  // Queue items ticked for a bulk action, by id.
  var selected = {};

  function ensureData() {
    data = sync.data;
    data.contributions = data.contributions || {};
    data.phrases = data.phrases || {};
    data.shown = data.shown || {};
    // When each held-back item was held back, for its order in that list (latest first).
    data.held = data.held || {};
    data.support = data.support || {};
    if (data.prompt === undefined) {
      data.prompt = null;
    }
  }

  // ---- applying what the server sends (docs/live-protocol.md sections 2 and 4) ----

  function applyState(state) {
    ensureData();
    room.open = state.contributions_open !== false;
    room.moderation = state.moderation || "pre";
    room.reasons = state.hold_back_reasons || [];
    room.wellbeing = state.wellbeing === true;
    if (!room.wellbeing) {
      // Not (or no longer) a wellbeing host: keep nothing of anyone's request.
      data.support = {};
    }
    data.prompt = state.prompt || null;
    // `queue` and `held_back_items` are the whole truth about what is pending and rejected now.
    Object.keys(data.contributions).forEach(function (id) {
      var status = data.contributions[id].status;
      if (status === "pending" || status === "rejected") {
        delete data.contributions[id];
      }
    });
    data.held = {};
    (state.queue || []).forEach(function (contribution) {
      data.contributions[contribution.id] = contribution;
    });
    (state.held_back_items || []).forEach(function (contribution, index) {
      data.contributions[contribution.id] = contribution;
      data.held[contribution.id] = -(index + 1);
    });
    data.prepared = state.prepared || [];
    showPresence(state);
    renderAll();
    renderSupport();
  }

  function applyUpdate(update, live) {
    ensureData();
    var payload = update.data || {};
    if (update.kind === "prompt") {
      data.prompt = payload.prompt || null;
      markAsked(data.prompt);
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
      L.receivePhrase(data, payload.phrase, update.seq);
      renderStream();
    } else if (update.kind === "support" && payload.request) {
      receiveSupport(payload.request, live);
    } else if (update.kind === "prepared" && Array.isArray(payload.prepared)) {
      // Another host (or this one, on another tab) added, changed, removed or moved a
      // prepared question, here or on the questions page: the list as it is now.
      data.prepared = payload.prepared;
      renderPrepared();
    }
  }

  function receiveSupport(ask, live) {
    var before = data.support[ask.id];
    data.support[ask.id] = ask;
    if (live && ask.status === "open" && !before) {
      announce(ask.name + " asked for support.");
    }
    renderSupport();
  }

  function receiveContribution(contribution, seq, live) {
    if (!contribution) {
      return;
    }
    var key = "c" + contribution.id;
    var before = data.contributions[contribution.id];
    if (contribution.status !== "withdrawn") {
      data.contributions[contribution.id] = contribution;
      if (contribution.status === "approved") {
        data.shown[key] = data.shown[key] || seq || sync.seq + 0.5;
      } else {
        delete data.shown[key];
      }
      if (contribution.status === "rejected") {
        data.held[contribution.id] = seq || sync.seq + 0.5;
      } else {
        delete data.held[contribution.id];
      }
      if (live && contribution.status === "pending" && !before) {
        announce("New in the queue from " + (contribution.author || "Anonymous") + ": " +
          contribution.text);
      }
    } else {
      delete data.contributions[contribution.id];
      delete data.shown[key];
      delete data.held[contribution.id];
    }
    if (contribution.status !== "pending") {
      delete selected[contribution.id];
    }
    renderQueue();
    renderStream();
    renderHeldBack();
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
    if (typeof message.waiting === "number") {
      room.waiting = message.waiting;
      room.heldBack = message.held_back || 0;
      roomCounts.textContent = "Everyone sees: " + room.waiting + " waiting · " +
        room.heldBack + " held back";
    }
    // The harvest's label and rule (evidence/counting.py), so the two never disagree.
    voicesHeard.textContent = voicesHeard.dataset.label + ": " + room.voices + " · " +
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
    renderHeldBack();
  }

  function renderPrompt() {
    promptText.textContent = data.prompt ? data.prompt.text : "No question yet.";
    promptText.classList.toggle("prompt-none", !data.prompt);
    renderPrepared();
  }

  // ---- prepared questions (docs/live-protocol.md section 8) ----

  function markAsked(prompt) {
    (data.prepared || []).forEach(function (question) {
      if (prompt && question.id === prompt.id) {
        question.asked = true;
      }
    });
  }

  // `focus` ({question, move}): the button to give focus back to once the list is drawn again.
  function renderPrepared(focus) {
    var questions = data.prepared || [];
    prepared.hidden = questions.length === 0;
    var next = questions.filter(function (question) { return !question.asked; })[0];
    nextPrompt.disabled = !next;
    nextPromptText.textContent = next ? "Next: " + next.text :
      "Every prepared question has been asked.";
    // Focus stays with the question a host just moved, on the same button when it is still
    // there (no "Up" once it is first).
    var focused = focus || (preparedList.contains(document.activeElement) ?
      document.activeElement.dataset : null);
    preparedList.replaceChildren.apply(preparedList, questions.map(function (question, index) {
      var current = data.prompt && data.prompt.id === question.id;
      var notes = [];
      if (question.agenda_item) {
        notes.push(question.agenda_item.title);
      }
      notes.push(current ? "asked now" : question.asked ? "asked" : "not asked yet");
      var moves = [
        ["up", "Up", index > 0],
        ["down", "Down", index < questions.length - 1],
        ["next", "Make next", !question.asked && question !== next],
      ].filter(function (move) { return move[2]; });
      return h("li", { className: current ? "prepared-current" : "" }, [
        h("span", { className: "prepared-text" }, [question.text]),
        h("span", { className: "hint" }, [" (" + notes.join(", ") + ") "]),
        current ? null : h("button", {
          type: "button", className: "secondary", dataset: { question: question.id },
          "aria-label": (question.asked ? "Ask again: " : "Ask now: ") + question.text,
          onclick: function (clickEvent) { askPrepared("ask_prompt", { prompt_id: question.id },
            [clickEvent.currentTarget]); },
        }, [question.asked ? "Ask again" : "Ask now"]),
      ].concat(moves.map(function (move) {
        return h("button", {
          type: "button", className: "secondary", dataset: { question: question.id, move: move[0] },
          "aria-label": move[1] + ": " + question.text,
          onclick: function (clickEvent) { movePrepared(question, move[0], clickEvent.currentTarget); },
        }, [move[1]]);
      })));
    }));
    if (focused && focused.question) {
      var again = preparedList.querySelector('[data-question="' + focused.question + '"]' +
        (focused.move ? '[data-move="' + focused.move + '"]' : "")) ||
        preparedList.querySelector('[data-question="' + focused.question + '"]');
      if (again) {
        again.focus();
      }
    }
  }

  function movePrepared(question, to, button) {
    request("move_prompt", { prompt_id: question.id, to: to }, function (ack) {
      data.prepared = ack.prepared;
      renderPrepared({ question: String(question.id), move: to });
      sync.save();
      announce(to === "next" ? "Next question: " + question.text :
        "Moved " + to + ": " + question.text);
    }, [button]);
  }

  function askPrepared(name, payload, buttons) {
    request(name, payload, function (ack) {
      data.prompt = ack.prompt;
      data.prepared = ack.prepared;
      renderPrompt();
      sync.save();
      announce("The question is now: " + ack.prompt.text);
    }, buttons);
  }

  // The page's buttons are plain forms too (for hosts without scripts): the socket sends
  // instead, so the form must not.
  nextPrompt.addEventListener("click", function (clickEvent) {
    clickEvent.preventDefault();
    askPrepared("next_prompt", {}, [nextPrompt]);
  });

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
          h("label", { className: "check select-item" }, [
            h("input", {
              type: "checkbox", className: "select-box",
              onchange: function (changeEvent) {
                if (changeEvent.currentTarget.checked) {
                  selected[id] = true;
                } else {
                  delete selected[id];
                }
                renderSelection();
              },
            }),
            h("span", {}, ["Select"]),
          ]),
          h("div", { className: "item-actions" }, [
            h("button", { type: "button", onclick: function () { act("approve", id, node); } },
              ["Approve"]),
            h("button", {
              type: "button", className: "secondary",
              onclick: function () { approveAndFeature(id, node); },
            }, ["Approve and feature"]),
            holdBackForm(id, function () { return node; }),
            redactForm(id, function () { return node; }),
          ]),
        ]);
        queueNodes[id] = node;
      }
      L.fillItem(node, contribution, "contribution");
      // The byline names the item, so each "Select" box says which reflection it selects.
      node.querySelector(".select-box").setAttribute("aria-label",
        "Select: " + contribution.text.slice(0, 80));
      node.querySelector(".select-box").checked = Boolean(selected[contribution.id]);
      noteRedactions(node, contribution);
      return node;
    });
    Object.keys(queueNodes).forEach(function (id) {
      if (nodes.indexOf(queueNodes[id]) === -1) {
        delete queueNodes[id];
        delete selected[id];
      }
    });
    keepFocusInList(queue, nodes, function () { L.syncList(queue, nodes); });
    queueCount.textContent = "(" + nodes.length + ")";
    queueEmpty.hidden = nodes.length > 0;
    renderSelection();
  }

  function selectedIds() {
    return Object.keys(selected).map(Number).filter(function (id) { return queueNodes[id]; });
  }

  function renderSelection() {
    var count = selectedIds().length;
    var total = Object.keys(queueNodes).length;
    approveSelected.textContent = "Approve selected (" + count + ")";
    rejectSelected.textContent = "Reject selected (" + count + ")";
    selectAll.checked = total > 0 && count === total;
    selectAll.indeterminate = count > 0 && count < total;
    document.getElementById("bulk-actions").hidden = total === 0;
  }

  function renderHeldBack() {
    var held = Object.keys(data.contributions).map(function (id) {
      return data.contributions[id];
    }).filter(function (contribution) { return contribution.status === "rejected"; });
    held.sort(function (a, b) { return (data.held[b.id] || 0) - (data.held[a.id] || 0); });
    var nodes = held.map(function (contribution) {
      var node = heldNodes[contribution.id];
      if (!node) {
        var id = contribution.id;
        node = h("li", { className: "stream-item", dataset: { id: id } }, [
          h("div", { className: "item-actions" }, [
            h("button", {
              type: "button", className: "secondary",
              onclick: function () { act("restore", id, node); },
            }, ["Back to the queue"]),
            h("button", {
              type: "button", className: "secondary",
              onclick: function () { act("approve", id, node); },
            }, ["Approve"]),
          ]),
        ]);
        heldNodes[id] = node;
      }
      L.fillItem(node, contribution, "contribution");
      return node;
    });
    Object.keys(heldNodes).forEach(function (id) {
      if (nodes.indexOf(heldNodes[id]) === -1) {
        delete heldNodes[id];
      }
    });
    keepFocusInList(heldList, nodes, function () { L.syncList(heldList, nodes); });
    heldCount.textContent = "(" + nodes.length + ")";
    heldEmpty.hidden = nodes.length > 0;
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
              onclick: function () { act("withdraw", id, node, null, "Withdrawn"); },
            }, ["Withdraw"]),
            redactForm(id, function () { return node; }),
            h("span", { className: "resonance-count" }),
          ]));
        }
        if (entry.kind === "phrase") {
          node.appendChild(phraseActions(entry.item.id, node));
        }
        streamNodes[entry.key] = node;
      }
      L.fillItem(node, entry.item, entry.kind);
      if (entry.kind === "contribution") {
        noteRedactions(node, entry.item);
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

  function noteRedactions(node, contribution) {
    var labels = contribution.redacted || [];
    if (labels.length) {
      node.querySelector(".byline").append(" · redacted: " + labels.join(", "));
    }
  }

  // Holding back: a reason from the server's list, or written, which the author will read.
  function holdBackForm(id, nodeOf) {
    var select = h("select", { name: "reason" });
    var written = h("input", {
      name: "reason_text", maxlength: "200", autocomplete: "off", hidden: true,
      "aria-label": "The reason, in your words",
    });
    select.addEventListener("change", function () {
      written.hidden = select.value !== "other";
      if (!written.hidden) {
        written.focus();
      }
    });
    var form = h("form", { className: "stack inline-form" }, [
      h("label", {}, ["Why (the author sees this) ", select]),
      written,
      h("button", { type: "submit", className: "secondary" }, ["Hold back"]),
    ]);
    form.addEventListener("submit", function (submitEvent) {
      submitEvent.preventDefault();
      var payload = { reason: select.value || null };
      if (select.value === "other") {
        payload.reason_text = written.value.trim();
      }
      act("reject", id, nodeOf(), payload, "Held back");
    });
    var details = h("details", { className: "item-tool hold-back" }, [
      h("summary", {}, ["Hold back…"]), form,
    ]);
    // The reasons come with the state, which may arrive after the item was drawn.
    details.addEventListener("toggle", function () {
      if (details.open && !select.options.length) {
        select.replaceChildren.apply(select, [h("option", { value: "" }, ["No reason given"])]
          .concat(room.reasons.map(function (reason) {
            return h("option", { value: reason.key }, [reason.text]);
          }))
          .concat([h("option", { value: "other" }, ["Other: write it"])]));
      }
      if (details.open) {
        select.focus();
      }
    });
    return details;
  }

  // Redacting: the words to remove (what the host selected in the text, or typed) and what
  // they were; the author is told, and the words are not kept anywhere.
  function redactForm(id, nodeOf) {
    var words = h("input", { name: "text", maxlength: "200", autocomplete: "off" });
    var label = h("select", { name: "label" }, REDACTION_LABELS.map(function (pair) {
      return h("option", { value: pair[0] }, [pair[1]]);
    }));
    var selected = "";
    var summary = h("summary", {
      onmousedown: function () { selected = String(window.getSelection() || "").trim(); },
    }, ["Redact…"]);
    var details = h("details", { className: "item-tool redact" }, [summary]);
    var form = h("form", { className: "stack inline-form" }, [
      h("label", {}, ["Words to remove", words]),
      h("label", {}, ["They are", label]),
      h("button", { type: "submit", className: "secondary" }, ["Remove them"]),
    ]);
    details.appendChild(form);
    details.addEventListener("toggle", function () {
      if (details.open) {
        if (selected && !words.value) {
          words.value = selected;
        }
        words.focus();
      }
    });
    form.addEventListener("submit", function (submitEvent) {
      submitEvent.preventDefault();
      var text = words.value.trim();
      if (!text) {
        showError("Choose the words to remove: select them in the text, or type them.");
        words.focus();
        return;
      }
      act("redact", id, nodeOf(), { text: text, label: label.value }, null, function () {
        words.value = "";
        details.open = false;
      });
    });
    return details;
  }

  // ---- support requests (wellbeing hosts only) ----

  function renderSupport() {
    supportSection.hidden = !room.wellbeing;
    if (!room.wellbeing) {
      supportOpen.replaceChildren();
      supportHandled.replaceChildren();
      return;
    }
    var asks = Object.keys(data.support).map(function (id) { return data.support[id]; });
    asks.sort(function (a, b) { return a.id - b.id; });
    var open = asks.filter(function (ask) { return ask.status === "open"; });
    var handled = asks.filter(function (ask) { return ask.status !== "open"; });
    supportOpen.replaceChildren.apply(supportOpen, open.map(supportItem));
    supportHandled.replaceChildren.apply(supportHandled, handled.reverse().map(supportItem));
    supportEmpty.hidden = open.length > 0;
    supportCount.textContent = "(" + open.length + ")";
  }

  function supportItem(ask) {
    var time = L.formatTime(ask.created_at);
    var who = [h("strong", {}, [ask.name]), ask.guest ? " (guest)" : null];
    var lines = [h("p", { className: "support-who" }, who)];
    if (ask.contact) {
      lines.push(h("p", { className: "support-contact" }, [
        "Booked as " + ask.contact.name + ": ",
        h("a", { href: "mailto:" + ask.contact.email }, [ask.contact.email]),
      ]));
    } else {
      lines.push(h("p", { className: "hint" }, [ask.guest ?
        "A guest: no contact details, only the name they gave." : "No contact details."]));
    }
    lines.push(h("p", { className: "byline" }, ask.status === "open" ?
      ["Asked at ", h("time", { datetime: ask.created_at }, [time])] :
      ["Handled" + (ask.handled_by ? " by " + ask.handled_by : "") + " · asked at " +
        time]));
    var node = h("li", { className: "stream-item support-request", dataset: { id: ask.id } },
      lines);
    if (ask.status === "open") {
      var button = h("button", {
        type: "button",
        onclick: function () {
          request("support_handled", { request_id: ask.id }, function (ack) {
            receiveSupport(ack.request, false);
            sync.save();
          }, [button]);
        },
      }, ["Mark handled"]);
      node.appendChild(h("div", { className: "item-actions" }, [button]));
    }
    return node;
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
    if (!L.holdButtons(buttons)) {
      return;
    }
    socket.timeout(10000).emit(name, payload, function (error, ack) {
      L.releaseButtons(buttons);
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

  // `undoLabel`: the action can be undone ("restore"), and the undo bar offers it; `done`
  // runs with the server's answer.
  function act(name, id, node, extra, undoLabel, done) {
    var payload = { contribution_id: id };
    Object.keys(extra || {}).forEach(function (key) { payload[key] = extra[key]; });
    request(name, payload, function (ack) {
      receiveContribution(ack.contribution, null, false);
      sync.save();
      if (undoLabel) {
        offerUndo(undoLabel, ack.contribution.text, "restore", { contribution_id: id },
          function (restored) { receiveContribution(restored.contribution, null, false); });
      }
      if (done) {
        done(ack);
      }
    }, node.querySelectorAll("button"));
  }

  // The last reject or withdraw can be undone from a bar that stays until the next one.
  function offerUndo(label, text, name, payload, applied) {
    var short = text.length > 60 ? text.slice(0, 60) + "…" : text;
    var button = h("button", { type: "button", className: "link-button" }, ["Undo"]);
    button.addEventListener("click", function () {
      request(name, payload, function (ack) {
        applied(ack);
        sync.save();
        undoBar.replaceChildren("Undone: “" + short + "” is back.");
      }, [button]);
    });
    undoBar.replaceChildren(label + ": “" + short + "”. ", button);
    undoBar.hidden = false;
  }

  function bulk(action) {
    var ids = selectedIds();
    if (!ids.length) {
      showError("Select one or more reflections first.");
      return;
    }
    request("moderate_many", { action: action, contribution_ids: ids }, function (ack) {
      ack.contributions.forEach(function (contribution) {
        receiveContribution(contribution, null, false);
      });
      sync.save();
      var done = L.plural(ack.contributions.length, "reflection", "reflections") +
        (action === "approve" ? " approved." : " held back.");
      if (ack.skipped.length) {
        showError(done + " Not changed: " + ack.skipped.map(function (skip) {
          return skip.error;
        }).join(" "));
      }
      announce(done);
      queue.closest("section").querySelector("h2").focus();
    }, [approveSelected, rejectSelected]);
  }

  // The bulk form and the moderation form post without scripts; here the socket sends.
  approveSelected.addEventListener("click", function (clickEvent) {
    clickEvent.preventDefault();
    bulk("approve");
  });
  rejectSelected.addEventListener("click", function (clickEvent) {
    clickEvent.preventDefault();
    bulk("reject");
  });
  document.getElementById("bulk-actions").addEventListener("submit", function (submitEvent) {
    submitEvent.preventDefault();
  });
  document.getElementById("select-all-label").hidden = false;
  selectAll.addEventListener("change", function () {
    Object.keys(queueNodes).forEach(function (id) {
      if (selectAll.checked) {
        selected[id] = true;
      } else {
        delete selected[id];
      }
    });
    renderQueue();
  });

  // A phrase can be corrected (a misheard word, a name that must not be shared) or withdrawn.
  function phraseActions(id, node) {
    var actions = h("div", { className: "item-actions" });
    var edit = h("button", { type: "button", className: "secondary" }, ["Edit"]);
    var withdraw = h("button", { type: "button", className: "secondary" }, ["Withdraw"]);
    edit.addEventListener("click", function () { editPhrase(id, node, edit); });
    withdraw.addEventListener("click", function () {
      request("withdraw_phrase", { phrase_id: id }, function (ack) {
        var text = (data.phrases[id] || {}).text || "";
        L.receivePhrase(data, ack.phrase, null);
        renderStream();
        sync.save();
        offerUndo("Phrase withdrawn", text, "restore_phrase", { phrase_id: id }, function (back) {
          L.receivePhrase(data, back.phrase, sync.seq + 0.5);
          renderStream();
        });
      }, [edit, withdraw]);
    });
    actions.appendChild(edit);
    actions.appendChild(withdraw);
    return actions;
  }

  function editPhrase(id, node, editButton) {
    if (node.querySelector(".phrase-editor")) {
      node.querySelector(".phrase-editor textarea").focus();
      return;
    }
    var phrase = data.phrases[id];
    var textId = "phrase-" + id + "-text";
    var byId = "phrase-" + id + "-by";
    var text = h("textarea", { id: textId, maxlength: "500", rows: "2" });
    text.value = phrase.text;
    var by = h("input", { id: byId, maxlength: "120", autocomplete: "off" });
    by.value = phrase.attribution || "";
    var save = h("button", { type: "submit" }, ["Save the phrase"]);
    var cancel = h("button", { type: "button", className: "secondary" }, ["Cancel"]);
    var editor = h("form", { className: "phrase-editor stack", novalidate: true }, [
      h("div", { className: "field" }, [h("label", { for: textId }, ["Corrected phrase"]), text]),
      h("div", { className: "field" }, [h("label", { for: byId }, ["Said by (optional)"]), by]),
      h("div", { className: "item-actions" }, [save, cancel]),
    ]);
    function close() {
      editor.remove();
      editButton.focus();
    }
    cancel.addEventListener("click", close);
    editor.addEventListener("submit", function (submitEvent) {
      submitEvent.preventDefault();
      request("edit_phrase", { phrase_id: id, text: text.value, attribution: by.value },
        function (ack) {
          L.receivePhrase(data, ack.phrase, null);
          sync.save();
          close();
          renderStream();
          announce("Phrase corrected.");
        }, [save]);
    });
    node.appendChild(editor);
    text.focus();
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
      markAsked(data.prompt);
      promptInput.value = "";
      renderPrompt();
      announce("The question is now: " + ack.prompt.text);
    }, [promptForm.querySelector("button")]);
  });

  toggleOpen.addEventListener("click", function (clickEvent) {
    clickEvent.preventDefault();
    request("set_contributions_open", { open: !room.open }, function (ack) {
      room.open = ack.contributions_open;
      renderSettings();
    }, [toggleOpen]);
  });

  moderationForm.addEventListener("submit", function (submitEvent) {
    submitEvent.preventDefault();
  });
  // A choice sends at once, so the form's own button is only for pages without scripts.
  document.getElementById("set-moderation").hidden = true;
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
