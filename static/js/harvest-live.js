// While the event is on, the harvest page follows the live room: newly approved
// contributions, captured phrases and new prompts appear without a reload, corrected phrases
// change, withdrawn ones disappear (with the found-poem lines cut from a withdrawn phrase),
// and the day's figures follow the room. It joins as a read-only "viewer" (docs/live-protocol.md), which the room
// never counts as a participant. Every text goes into the page as text, never as HTML.
(function () {
  "use strict";

  var article = document.getElementById("harvest");
  if (!article || article.dataset.liveSeq === undefined || typeof window.io !== "function" ||
      !window.LeroLive) {
    return;
  }
  var status = document.getElementById("harvest-live-status");
  var announcer = document.getElementById("harvest-live-announcer");
  var prompts = document.getElementById("prompts");
  // The page was drawn at this seq; the store keeps the rest in order (live-common.js).
  var drawnAt = parseInt(article.dataset.liveSeq, 10) || 0;
  var store = new window.LeroLive.RoomStore(article.dataset.slug, "viewer", {
    storage: null,
    seq: drawnAt,
  });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function showStatus(state, text) {
    status.hidden = false;
    status.className = "live-status live-status-" + state;
    status.textContent = text;
  }

  function announce(text) {
    announcer.textContent = text;
  }

  function plural(count, word) {
    return count + " " + (count === 1 ? word : word + "s");
  }

  function promptKey(id) {
    return id === null || id === undefined ? "" : String(parseInt(id, 10));
  }

  function adjustCount(list, change) {
    var count = list.closest(".prompt-section").querySelector(".count");
    var total = Math.max(0, (parseInt(count.dataset.count, 10) || 0) + change);
    count.dataset.count = String(total);
    count.textContent = plural(total, "contribution");
  }

  function promptSection(key, text) {
    var found = prompts.querySelector('ol.contributions[data-prompt-id="' + key + '"]');
    if (found) {
      return found;
    }
    var id = "prompt-" + (key || "other");
    var section = el("section", "prompt-section");
    section.id = id;
    section.setAttribute("aria-labelledby", id + "-heading");
    var heading = el("h3", "", text || (key ? "A new prompt" : "Other reflections"));
    heading.id = id + "-heading";
    var count = el("p", "count", plural(0, "contribution"));
    count.dataset.count = "0";
    var list = el("ol", "contributions");
    list.dataset.promptId = key;
    section.appendChild(heading);
    section.appendChild(count);
    section.appendChild(list);
    var other = document.getElementById("prompt-other");
    prompts.insertBefore(section, key && other ? other : null);
    var empty = prompts.querySelector(".empty");
    if (empty) {
      empty.remove();
    }
    return list;
  }

  function contributionItem(contribution) {
    var item = el("li", "contribution" + (contribution.featured ? " featured" : ""));
    item.id = "c-" + contribution.id;
    item.dataset.contributionId = String(contribution.id);
    var quote = el("blockquote", "contribution-text");
    quote.appendChild(el("p", "", contribution.text));
    var byline = el("p", "byline");
    byline.appendChild(el("span", "author", contribution.author || "Anonymous"));
    item.appendChild(quote);
    item.appendChild(byline);
    setResonance(item, contribution.resonance_count || 0);
    setFeatured(item, contribution.featured);
    return item;
  }

  function setResonance(item, count) {
    var byline = item.querySelector(".byline");
    var span = byline.querySelector(".resonances");
    if (!count) {
      if (span) {
        span.remove();
      }
      return;
    }
    if (!span) {
      span = el("span", "resonances");
      byline.insertBefore(span, byline.querySelector(".badge"));
    }
    span.textContent = "resonated with " + count + " " + (count === 1 ? "person" : "people");
  }

  function setFeatured(item, featured) {
    var badge = item.querySelector(".byline .badge");
    item.classList.toggle("featured", Boolean(featured));
    if (featured && !badge) {
      item.querySelector(".byline").appendChild(el("span", "badge", "Featured"));
    } else if (!featured && badge) {
      badge.remove();
    }
  }

  function applyContribution(contribution) {
    var items = article.querySelectorAll('[data-contribution-id="' + parseInt(contribution.id, 10) + '"]');
    if (!window.LeroLive.isShown(contribution)) {
      Array.prototype.forEach.call(items, function (item) {
        var list = item.parentNode;
        item.remove();
        if (list.matches("ol.contributions[data-prompt-id]")) {
          adjustCount(list, -1);
        }
      });
      return;
    }
    if (items.length) {
      Array.prototype.forEach.call(items, function (item) {
        setResonance(item, contribution.resonance_count || 0);
        setFeatured(item, contribution.featured);
      });
      return;
    }
    var list = promptSection(promptKey(contribution.prompt_id));
    list.appendChild(contributionItem(contribution));
    adjustCount(list, 1);
    announce("New contribution from " + (contribution.author || "Anonymous") + ": " + contribution.text);
  }

  function normalise(text) {
    return text.split(/\s+/).filter(Boolean).join(" ").toLowerCase();
  }

  // Poem lines cut from a phrase go when it is withdrawn, or when a correction means they are
  // no longer its words (the server drops them the same way).
  function dropPoemLines(phraseId, keep) {
    var lines = article.querySelectorAll('[data-phrase-id="' + phraseId + '"]');
    Array.prototype.forEach.call(lines, function (line) {
      if (!keep || !keep(line)) {
        line.remove();
      }
    });
    Array.prototype.forEach.call(article.querySelectorAll(".poem .stanza"), function (stanza) {
      if (!stanza.querySelector(".poem-line")) {
        stanza.remove();
      }
    });
  }

  function applyPhrase(phrase) {
    var id = parseInt(phrase.id, 10);
    var shown = document.getElementById("p-" + id);
    if (phrase.withdrawn) {
      if (shown) {
        shown.remove();
      }
      dropPoemLines(id);
      return;
    }
    if (shown) {
      shown.querySelector(".phrase-text p").textContent = phrase.text;
      var author = shown.querySelector(".byline .author");
      if (author) {
        author.textContent = phrase.attribution;
      }
      var said = normalise(phrase.text);
      dropPoemLines(id, function (line) {
        return said.indexOf(normalise(line.dataset.line || line.textContent)) !== -1;
      });
      return;
    }
    var list = document.querySelector("#phrases ol.phrases");
    var item = el("li", "phrase");
    item.id = "p-" + parseInt(phrase.id, 10);
    var quote = el("blockquote", "phrase-text");
    quote.appendChild(el("p", "", phrase.text));
    item.appendChild(quote);
    if (phrase.attribution) {
      var byline = el("p", "byline");
      byline.appendChild(el("span", "author", phrase.attribution));
      item.appendChild(byline);
    }
    list.appendChild(item);
    var empty = document.querySelector("#phrases .empty");
    if (empty) {
      empty.remove();
    }
    announce("New phrase we heard: " + phrase.text);
  }

  function applyResonance(data) {
    var items = article.querySelectorAll('[data-contribution-id="' + parseInt(data.contribution_id, 10) + '"]');
    Array.prototype.forEach.call(items, function (item) { setResonance(item, data.count); });
  }

  // The day's figures, absolute numbers counted at `seq`: an older count never replaces a
  // newer one (two workers' messages can cross).
  var figuresSeq = -1;
  function applyFigures(figures) {
    if (!figures || typeof figures.seq !== "number" || figures.seq < figuresSeq) {
      return;
    }
    figuresSeq = figures.seq;
    Object.keys(figures).forEach(function (key) {
      var value = document.querySelector("#figure-" + key.replace(/[^a-z_]/g, "") + " .figure-value");
      if (value && key !== "seq") {
        value.textContent = String(figures[key]);
      }
    });
  }

  function apply(update) {
    var data = update.data || {};
    if (update.kind === "contribution" && data.contribution) {
      applyContribution(data.contribution);
    } else if (update.kind === "phrase" && data.phrase) {
      applyPhrase(data.phrase);
    } else if (update.kind === "prompt" && data.prompt) {
      promptSection(promptKey(data.prompt.id), data.prompt.text);
    } else if (update.kind === "resonance") {
      applyResonance(data);
    }
  }

  var socket = window.io("/live", {
    // A function, so every reconnect asks only for what came after the last applied update.
    auth: function (send) {
      var auth = { slug: article.dataset.slug, role: "viewer", last_seq: store.cursors().last_seq };
      if (article.dataset.liveKey) {
        auth.harvest_secret = article.dataset.liveKey;
      }
      send(auth);
    }
  });
  var connectedText = "Live: new contributions appear here as the hosts approve them.";
  store.attach({
    // When so much happened since the page was drawn that the room sent its present state
    // instead of the changes, the page cannot redraw itself from that: it says to reload.
    applyState: function (state) {
      applyFigures(state.figures);
      if (state.snapshot && state.seq > drawnAt) {
        connectedText = "Live: a lot has changed since this page loaded. Reload to see all of it.";
      }
    },
    applyUpdate: apply,
    applySnapshot: function () {},
    catchUp: function (cursors, done) {
      socket.timeout(10000).emit("catch_up", cursors, function (error, answer) {
        done(error || !answer || !answer.ok ? null : answer);
      });
    },
  });
  showStatus("connecting", "Live: connecting…");

  socket.on("state", function (state) {
    store.receiveState(state);
    showStatus("connected", connectedText);
  });
  socket.on("updates", function (frame) {
    store.receiveUpdates(frame);
  });
  socket.on("figures", applyFigures);
  // The server's message queue lost and back (docs/live-protocol.md 10.5).
  socket.on("delivery", function (message) {
    if (message && message.live === false) {
      showStatus("delayed", "Live: " + message.message);
    } else if (message && message.live === true) {
      showStatus("connected", connectedText);
      store.deliveryRestored(Math.random() * 2000);
    }
  });
  // socket.io delivers `state` (sent while connecting) before its own "connect" event, so
  // only a disconnect says the next state is still to come.
  socket.on("disconnect", function () {
    store.connectionLost();
    showStatus("reconnecting", "Live updates paused: reconnecting…");
  });
  socket.on("connect_error", function (error) {
    if (socket.active) {
      showStatus("reconnecting", "Live updates paused: reconnecting…");
    } else {
      showStatus("offline", "Live updates are not available: " + (error && error.message ? error.message : "the room refused the connection") + ". Reload the page to see what is new.");
    }
  });
}());
