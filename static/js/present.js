// The presenter view: the room on a shared screen. The server drew the page; from here it
// follows the room as a read-only viewer (docs/live-protocol.md section 8) through the shared
// RoomStore, and redraws the question, the featured and newest reflections and the captured
// phrases as they change. Every text goes in as text, never as HTML.
(function () {
  "use strict";
  var L = window.LeroLive;
  var root = document.getElementById("present");
  if (!root || !L || typeof window.io !== "function") {
    return;
  }
  var h = L.h;
  var slug = root.dataset.slug;
  var key = root.dataset.presenterKey;
  var sizes = {
    featured: parseInt(root.dataset.featured, 10) || 2,
    newest: parseInt(root.dataset.newest, 10) || 4,
    phrases: parseInt(root.dataset.phrases, 10) || 2,
  };
  // Nothing kept across reloads: the page is drawn fresh and the store starts from a snapshot.
  var store = new L.RoomStore(slug, "viewer", { storage: null });
  var status = new L.ConnectionStatus(
    document.getElementById("connection-state"),
    "Offline: reconnecting when the connection is back"
  );
  var promptText = document.getElementById("current-prompt");
  var emptyPrompt = promptText.classList.contains("prompt-none") ? promptText.textContent : "";
  var lists = {
    featured: document.getElementById("featured"),
    newest: document.getElementById("newest"),
    phrases: document.getElementById("phrases"),
  };
  var empty = document.getElementById("reflections-empty");
  var phrasesSection = document.getElementById("phrases-section");
  var nodes = {};

  function ensureData() {
    var data = store.data;
    data.contributions = data.contributions || {};
    data.phrases = data.phrases || {};
    data.shown = data.shown || {};
    if (data.prompt === undefined) {
      data.prompt = null;
    }
    return data;
  }

  function applyUpdate(update) {
    var data = ensureData();
    var payload = update.data || {};
    if (update.kind === "prompt") {
      data.prompt = payload.prompt || null;
    } else if (update.kind === "contribution" && payload.contribution) {
      var contribution = payload.contribution;
      var id = "c" + contribution.id;
      if (L.isShown(contribution)) {
        data.contributions[contribution.id] = contribution;
        data.shown[id] = data.shown[id] || update.seq;
      } else {
        delete data.contributions[contribution.id];
        delete data.shown[id];
      }
    } else if (update.kind === "phrase" && payload.phrase) {
      // Corrected in place, or gone once withdrawn (docs/live-protocol.md section 9.4).
      L.receivePhrase(data, payload.phrase, update.seq);
    }
    render();
  }

  function newestFirst(items, prefix) {
    var data = ensureData();
    return items.slice().sort(function (a, b) {
      return (data.shown[prefix + b.id] || 0) - (data.shown[prefix + a.id] || 0);
    });
  }

  // One list item per reflection or phrase, reused while it stays on screen.
  function itemNode(item, kind) {
    var nodeKey = (kind === "phrase" ? "p" : "c") + item.id;
    var byline = kind === "phrase" ?
      (item.attribution ? "Said by " + item.attribution : "Said in the room") :
      (item.author || "Anonymous");
    var node = nodes[nodeKey] || h("li", { className: "present-item", dataset: { key: nodeKey } });
    node.replaceChildren(
      h("p", { className: "present-text" }, [kind === "phrase" ? "“" + item.text + "”" : item.text]),
      h("p", { className: "present-byline" }, [
        item.featured ? h("span", { className: "badge" }, ["Featured"]) : null,
        item.featured ? " " : null,
        byline,
      ])
    );
    node.classList.toggle("featured", Boolean(item.featured));
    nodes[nodeKey] = node;
    return node;
  }

  function render() {
    var data = ensureData();
    promptText.textContent = data.prompt ? data.prompt.text : emptyPrompt;
    promptText.classList.toggle("prompt-none", !data.prompt);
    var approved = newestFirst(Object.keys(data.contributions).map(function (id) {
      return data.contributions[id];
    }), "c");
    var featured = approved.filter(function (c) { return c.featured; }).slice(0, sizes.featured);
    var newest = approved.filter(function (c) { return !c.featured; }).slice(0, sizes.newest);
    var phrases = newestFirst(Object.keys(data.phrases).map(function (id) {
      return data.phrases[id];
    }), "p").slice(0, sizes.phrases);
    var shown = {};
    function place(list, items, kind) {
      L.syncList(list, items.map(function (item) {
        var node = itemNode(item, kind);
        shown[node.dataset.key] = true;
        return node;
      }));
    }
    place(lists.featured, featured, "contribution");
    place(lists.newest, newest, "contribution");
    place(lists.phrases, phrases, "phrase");
    Object.keys(nodes).forEach(function (nodeKey) {
      if (!shown[nodeKey]) {
        delete nodes[nodeKey];
      }
    });
    empty.hidden = featured.length + newest.length > 0;
    phrasesSection.hidden = phrases.length === 0;
  }

  L.openRoom(slug, store, status, {
    identity: function (send) {
      send(key ? { role: "viewer", presenter_secret: key } : { role: "viewer" });
    },
    applyState: function (state) {
      ensureData().prompt = state.prompt || null;
      render();
    },
    applyUpdate: applyUpdate,
    applySnapshot: function (snapshot) {
      L.snapshotInto(store.data, snapshot);
    },
    presence: function () {},
    connected: function () {},
    reset: function () {
      ensureData();
      render();
    },
  });
})();
